import { describe, expect, it } from 'vitest';
import { pollShipments, type TrackingDeps } from '../../src/domain/tracking.service.js';
import { pushedThrough, receivePush } from '../../src/domain/tracking-push.service.js';
import { mayRenew, PUSH_RENEWALS_MAX } from '../../src/domain/tracking-subscription.js';
import { TransientError } from '../../src/domain/errors.js';
import type { CarrierPush, ShipmentStore, TrackedShipment } from '../../src/domain/tracking-ports.js';
import type { CarrierClient, CarrierCode, TrackingSnapshot } from '../../src/domain/carrier.js';

const HOUR = 3_600_000;
const moving: TrackingSnapshot = {
  status: 'in_transit',
  events: [{ at: new Date(0), status: 'in_transit', description: 'scanned', location: null }],
  estimatedDeliveryAt: null,
};
const lapsed = (over: Partial<TrackedShipment> = {}): TrackedShipment => ({
  id: '1',
  shopId: 's',
  orderId: 'o',
  carrier: 'kuaidi100',
  trackingNumber: 'YT1',
  status: 'info_received',
  phone: '13800000000',
  fromCity: null,
  toCity: null,
  carrierCom: 'yuantong',
  push: 'lapsed',
  pushRenewals: 0,
  pushEndedAt: new Date(Date.now() - HOUR),
  ...over,
});
const pushing = (code: CarrierCode, subscribe: () => Promise<void>): CarrierClient => ({
  code,
  serviceLevelHours: code === 'sf' ? 48 : 72,
  track: async () => moving,
  subscribe,
  pushedBy: 'kuaidi100',
  resubscribeAfterMs: 30 * 60_000,
});
const plain = (code: CarrierCode): CarrierClient => ({ code, serviceLevelHours: 1, track: async () => moving });

/**
 * A store holding one shipment's push state, whose subscription records are conditional on the state read, as the
 * repository's SQL is: what a retried poll job would find.
 */
function storeOf(row: TrackedShipment) {
  const seen = { findOpen: [] as CarrierCode[][], histories: [] as CarrierCode[], applied: [] as string[], ended: [] as number[] };
  const store = {
    load: async () => [{ ...row }],
    claim: async (want: unknown) => want,
    deliveredTransits: async (c: CarrierCode) => {
      seen.histories.push(c);
      return [];
    },
    applyPoll: async ({ id }: { id: string }) => {
      seen.applied.push(id);
      return { changed: true };
    },
    deferPoll: async () => undefined,
    recordCarrierCom: async () => undefined,
    recordSubscription: async (_s: unknown, outcome: 'subscribed' | 'refused', renewal = false) => {
      if (row.push !== (renewal ? 'lapsed' : null)) return;
      Object.assign(row, { push: outcome, pushRenewals: row.pushRenewals + (renewal ? 1 : 0) });
    },
    findOpen: async (carriers: readonly CarrierCode[]) => {
      seen.findOpen.push([...carriers]);
      return [{ ...row }];
    },
    endPush: async (_s: unknown, renewBelow: number) => void seen.ended.push(renewBelow),
  } as unknown as ShipmentStore;
  return { store, seen, row };
}

function deps(store: ShipmentStore, carriers: Partial<Record<CarrierCode, CarrierClient>>): TrackingDeps {
  return {
    shipments: store,
    carriers: { sandbox: plain('sandbox'), kuaidi100: plain('kuaidi100'), sf: plain('sf'), zto: plain('zto'), ...carriers },
    jobs: { poll: async () => true, refund: async () => true },
    limiter: { take: async () => 0 },
    refreshEveryMs: 60_000,
    carrierCallsPerSecond: 10,
    staleAfterMs: 48 * HOUR,
  };
}

describe('mayRenew', () => {
  const client = pushing('kuaidi100', async () => undefined);
  const now = new Date();
  it("renews a lapsed subscription once a poll finds records of a parcel still on its way, after the carrier's wait", () => {
    expect(mayRenew(lapsed(), client, moving, now)).toBe(true);
    expect(mayRenew(lapsed({ pushEndedAt: null }), client, moving, now)).toBe(true);
  });
  it('does not renew too early, without records, at the end of the journey, past its bound, nor what did not lapse', () => {
    expect(mayRenew(lapsed({ pushEndedAt: new Date(now.getTime() - 29 * 60_000) }), client, moving, now)).toBe(false);
    expect(mayRenew(lapsed(), client, { ...moving, events: [] }, now)).toBe(false);
    expect(mayRenew(lapsed(), client, { ...moving, status: 'delivered' }, now)).toBe(false);
    expect(mayRenew(lapsed({ pushRenewals: PUSH_RENEWALS_MAX }), client, moving, now)).toBe(false);
    for (const push of [null, 'subscribed', 'ended', 'refused'] as const)
      expect(mayRenew(lapsed({ push }), client, moving, now), String(push)).toBe(false);
    expect(mayRenew(lapsed(), plain('kuaidi100'), moving, now)).toBe(false);
  });
});

describe('renewing a lapsed subscription from a poll', () => {
  it('subscribes once and counts it; the same poll again (a retried job) finds it subscribed and does not', async () => {
    let subscriptions = 0;
    const { store, row } = storeOf(lapsed());
    const d = deps(store, { kuaidi100: pushing('kuaidi100', async () => void subscriptions++) });
    await pollShipments(d, 'kuaidi100', [{ id: '1', shopId: 's' }]);
    await pollShipments(d, 'kuaidi100', [{ id: '1', shopId: 's' }]);
    expect([subscriptions, row.push, row.pushRenewals]).toEqual([1, 'subscribed', 1]);
  });

  it('leaves a renewal that failed for a while to the next poll, and renews then', async () => {
    let down = true;
    let subscriptions = 0;
    const { store, row } = storeOf(lapsed());
    const client = pushing('kuaidi100', async () => {
      subscriptions++;
      if (down) throw new TransientError('carrier_unavailable', '500');
    });
    const d = deps(store, { kuaidi100: client });
    expect(await pollShipments(d, 'kuaidi100', [{ id: '1', shopId: 's' }])).toMatchObject({ polled: 1 });
    expect([row.push, row.pushRenewals]).toEqual(['lapsed', 0]);
    down = false;
    await pollShipments(d, 'kuaidi100', [{ id: '1', shopId: 's' }]);
    expect([subscriptions, row.push, row.pushRenewals]).toEqual([2, 'subscribed', 1]);
  });
});

describe('a push through Kuaidi100', () => {
  const reading = (push: Partial<CarrierPush>) => ({
    kuaidi100: {
      read: () => ({
        verified: true as const,
        push: { trackingNumber: 'SF1', snapshot: moving, ended: false, ...push },
        reply: { status: 200, contentType: 'application/json', body: 'ok' },
      }),
    },
  });

  it('is matched to the shipments of every carrier subscribed through it, each stored as its own carrier', async () => {
    // On a route, so that its estimate asks for its carrier's history.
    const { store, seen } = storeOf(lapsed({ carrier: 'sf', push: 'subscribed', fromCity: 'Shenzhen', toCity: 'Shanghai' }));
    const d = deps(store, { kuaidi100: pushing('kuaidi100', async () => undefined), sf: pushing('sf', async () => undefined) });
    expect(pushedThrough(d.carriers, 'kuaidi100')).toEqual(['kuaidi100', 'sf']);
    expect(await receivePush({ ...d, receivers: reading({}) }, 'kuaidi100', Buffer.alloc(0))).toMatchObject({ shipments: 1 });
    // ZTO with credentials of its own is not subscribed through Kuaidi100, so its shipments are not looked at.
    expect(seen).toMatchObject({ findOpen: [['kuaidi100', 'sf']], histories: ['sf'], applied: ['1'] });
  });

  it('leaves room to renew after an end for want of records, and none after any other end', async () => {
    const { store, seen } = storeOf(lapsed({ push: 'subscribed' }));
    const d = deps(store, { kuaidi100: pushing('kuaidi100', async () => undefined) });
    await receivePush({ ...d, receivers: reading({ snapshot: null, ended: true, renewable: true }) }, 'kuaidi100', Buffer.alloc(0));
    await receivePush({ ...d, receivers: reading({ snapshot: null, ended: true }) }, 'kuaidi100', Buffer.alloc(0));
    await receivePush({ ...d, receivers: reading({ snapshot: null }) }, 'kuaidi100', Buffer.alloc(0));
    expect(seen.ended).toEqual([PUSH_RENEWALS_MAX, 0]);
  });
});
