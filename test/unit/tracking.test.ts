import { describe, expect, it } from 'vitest';
import { assertUnderLimit } from '../../src/domain/order-rules.js';
import { fanOutPolls, pollShipments, POLL_BATCH, PUSHED_POLL_FACTOR, type TrackingDeps } from '../../src/domain/tracking.service.js';
import { receivePush } from '../../src/domain/tracking-push.service.js';
import { AskedTooSoon, TransientError, PermanentError } from '../../src/domain/errors.js';
import type { ShipmentStore, ShipmentUpdate, TrackedShipment } from '../../src/domain/tracking-ports.js';
import type { CarrierClient, TrackingSnapshot } from '../../src/domain/carrier.js';

const shipment = (id: string): TrackedShipment => ({
  id, shopId: 's', orderId: 'o', carrier: 'sandbox', trackingNumber: `SBX-${id}`, status: 'in_transit', phone: null, fromCity: 'A', toCity: 'B',
  carrierCom: null, push: null, pushRenewals: 0, pushEndedAt: null,
});
/** Shipments of shop `s` by their ids. */
const refs = (ids: string[]) => ids.map((id) => ({ id, shopId: 's' }));
const snap: TrackingSnapshot = { status: 'in_transit', events: [{ at: new Date(0), status: 'in_transit', description: 'x', location: null }], estimatedDeliveryAt: null };

function fakes(track: (n: string) => Promise<TrackingSnapshot>, opts: { ids?: string[]; limiterWait?: number } = {}) {
  const calls = {
    applied: [] as string[],
    deferred: [] as Array<{ ids: string[]; inMs: number; failed: boolean }>,
    polls: [] as string[][],
    slots: [] as Array<{ delayMs: number; until: Date } | undefined>,
    claims: [] as Array<{ carrier: string; limit: number; quietSince: Date }>,
    updates: [] as ShipmentUpdate[],
    delayChecks: [] as Array<{ now: Date; quietSince: Date; staleAfterMs: number }>,
    giveUps: [] as Date[],
  };
  const ids = opts.ids ?? ['1', '2', '3'];
  const store: ShipmentStore = {
    create: async () => { throw new Error('unused'); },
    claimDue: async (carrier, _now, _until, limit, quietSince) => {
      calls.claims.push({ carrier, limit, quietSince });
      return ids.filter((id) => (id.startsWith('k') ? 'kuaidi100' : 'sandbox') === carrier).slice(0, limit).map((id) => ({ id, shopId: 's' }));
    },
    load: async (want) => want.map((w) => shipment(w.id)),
    claim: async (want) => want,
    deliveredTransits: async () => [],
    applyPoll: async ({ id }, u) => { calls.applied.push(id); calls.updates.push(u); return { changed: true }; },
    deferPoll: async (deferIds, next, failed) => { calls.deferred.push({ ids: deferIds.map((d) => d.id), inMs: next.getTime() - Date.now(), failed }); },
    flagDelays: async (now, quietSince, staleAfterMs) => { calls.delayChecks.push({ now, quietSince, staleAfterMs }); return 0; },
    giveUpExceptions: async (quietSince) => { calls.giveUps.push(quietSince); return 0; },
    listDelayed: async () => [],
    findOpen: async () => [],
    recordCarrierCom: async () => undefined,
    recordSubscription: async () => undefined,
    endPush: async () => undefined,
  };
  const client: CarrierClient = { code: 'sandbox', serviceLevelHours: 1, track: ({ trackingNumber }) => track(trackingNumber) };
  const deps: TrackingDeps = {
    shipments: store,
    carriers: { sandbox: client, kuaidi100: client, sf: client, zto: client },
    jobs: { poll: async (_c, batch, slot) => Boolean(calls.polls.push(batch.map((b) => b.id)) && calls.slots.push(slot)), refund: async () => true },
    limiter: { take: async () => opts.limiterWait ?? 0 },
    refreshEveryMs: 60_000,
    carrierCallsPerSecond: 10,
    staleAfterMs: 48 * 3_600_000,
  };
  return { deps, calls };
}

describe('pollShipments', () => {
  it('defers the rest of the batch by Retry-After when the carrier answers 429', async () => {
    const { deps, calls } = fakes(async (n) => {
      if (n === 'SBX-2') throw new TransientError('rate_limited', 'slow down', { retryAfterSeconds: 30 });
      return snap;
    });
    const r = await pollShipments(deps, 'sandbox', refs(['1', '2', '3']));
    expect(r).toEqual({ polled: 1, changed: 1, deferred: 2 });
    expect(calls.applied).toEqual(['1']);
    expect(calls.deferred).toHaveLength(1);
    expect(calls.deferred[0]!.ids).toEqual(['2', '3']);
    expect(calls.deferred[0]!.inMs).toBeGreaterThan(29_000);
  });

  it('defers only the failing shipment on a transient error, a day on a permanent one, and goes on', async () => {
    const { deps, calls } = fakes(async (n) => {
      if (n === 'SBX-1') throw new TransientError('carrier_unavailable', '503');
      if (n === 'SBX-2') throw new PermanentError('carrier_rejected', 'unknown waybill');
      return snap;
    });
    expect(await pollShipments(deps, 'sandbox', refs(['1', '2', '3']))).toEqual({ polled: 1, changed: 1, deferred: 2 });
    expect(calls.applied).toEqual(['3']);
    expect(calls.deferred.map((d) => [d.ids, d.failed, d.inMs > 23 * 3_600_000])).toEqual([[['1'], true, false], [['2'], true, true]]);
  });

  it('asks once about a waybill two shipments share (two orders in one box), and stores the answer for both', async () => {
    const asked: string[] = [];
    const { deps, calls } = fakes(async (n) => { asked.push(n); return snap; });
    // Shipments 1 and 2 are one parcel: the same waybill.
    deps.shipments.load = async (want) => want.map((w) => ({ ...shipment(w.id), trackingNumber: w.id === '2' ? 'SBX-1' : `SBX-${w.id}` }));
    expect(await pollShipments(deps, 'sandbox', refs(['1', '2', '3']))).toEqual({ polled: 3, changed: 3, deferred: 0 });
    expect(asked).toEqual(['SBX-1', 'SBX-3']);
    expect(calls.applied).toEqual(['1', '2', '3']);
  });

  it('puts off only the waybill asked too soon (Kuaidi100\'s 30 minutes), not the rest of the batch', async () => {
    const { deps, calls } = fakes(async (n) => {
      if (n === 'SBX-1') throw new AskedTooSoon('waybill SBX-1 was queried less than 30 minutes ago', { retryAfterSeconds: 600 });
      return snap;
    });
    expect(await pollShipments(deps, 'sandbox', refs(['1', '2', '3']))).toEqual({ polled: 2, changed: 2, deferred: 1 });
    expect(calls.applied).toEqual(['2', '3']);
    expect(calls.deferred.map((d) => [d.ids, d.failed, d.inMs > 590_000 && d.inMs <= 600_000])).toEqual([[['1'], false, true]]);
  });

  it('counts SF calls made through Kuaidi100 against the Kuaidi100 account\'s limit, not a limit of their own', async () => {
    const { deps } = fakes(async () => snap);
    const keys: string[] = [];
    deps.limiter = { take: async (key) => { keys.push(key); return 0; } };
    deps.carriers.sf = { code: 'sf', account: 'kuaidi100', serviceLevelHours: 48, track: async () => snap };
    await pollShipments(deps, 'sf', refs(['1']));
    await pollShipments(deps, 'sandbox', refs(['2']));
    expect(keys).toEqual(['carrier:kuaidi100', 'carrier:sandbox']);
  });

  it('puts off only the parcel that meets an error of ours, reports it, and asks the rest of the batch', async () => {
    const { deps, calls } = fakes(async (n) => {
      if (n === 'SBX-2') throw new TypeError("Cannot read properties of undefined (reading 'at')");
      return snap;
    });
    const r = await pollShipments(deps, 'sandbox', refs(['1', '2', '3']));
    expect(r).toEqual({ polled: 2, changed: 2, deferred: 1, broken: [{ id: '2', error: "TypeError: Cannot read properties of undefined (reading 'at')" }] });
    expect(calls.applied).toEqual(['1', '3']);
    expect(calls.deferred.map((d) => [d.ids, d.failed, d.inMs > 3 * 60_000])).toEqual([[['2'], true, true]]);
  });

  it('waits out the shared per-carrier rate limit instead of calling', async () => {
    let called = 0;
    const { deps, calls } = fakes(async () => { called++; return snap; }, { limiterWait: 400 });
    await pollShipments(deps, 'sandbox', refs(['1', '2']));
    expect(called).toBe(0);
    expect(calls.deferred[0]!.ids).toEqual(['1', '2']);
  });
});

describe('a tick\'s poll and the carrier\'s limit', () => {
  it('waits for the next window while its tick lasts, and calls', async () => {
    let called = 0;
    const waits = [30, 30, 0, 0];
    const { deps, calls } = fakes(async () => { called++; return snap; });
    deps.limiter = { take: async () => waits.shift() ?? 0 };
    const r = await pollShipments(deps, 'sandbox', refs(['1', '2']), new Date(Date.now() + 5_000));
    expect([r, called, calls.deferred]).toEqual([{ polled: 2, changed: 2, deferred: 0 }, 2, []]);
  });

  it('leaves what it has not asked due at once when its tick is over, for the next tick to claim in turn', async () => {
    let called = 0;
    const { deps, calls } = fakes(async () => { called++; return snap; }, { limiterWait: 400 });
    const r = await pollShipments(deps, 'sandbox', refs(['1', '2', '3']), new Date(Date.now() + 100));
    expect([r, called]).toEqual([{ polled: 0, changed: 0, deferred: 3 }, 0]);
    expect(calls.deferred).toHaveLength(1);
    expect(calls.deferred[0]!.ids).toEqual(['1', '2', '3']);
    expect(calls.deferred[0]!.inMs).toBeLessThanOrEqual(0);
  });

  it('still asks, without waiting, once its tick is over (a batch that waited in the queue behind a busy worker)', async () => {
    // A lagging worker that deferred every late batch unasked would ask nothing at all, tick after tick.
    let called = 0;
    const late = fakes(async () => { called++; return snap; });
    expect(await pollShipments(late.deps, 'sandbox', refs(['1', '2']), new Date(Date.now() - 1))).toMatchObject({ polled: 2, deferred: 0 });
    expect(called).toBe(2);
    // With the carrier's window full it does not wait into the next tick: the rest is due at once.
    const full = fakes(async () => { called++; return snap; }, { limiterWait: 400 });
    expect(await pollShipments(full.deps, 'sandbox', refs(['1', '2']), new Date(Date.now() - 1))).toMatchObject({ polled: 0, deferred: 2 });
    expect(full.calls.deferred[0]!.inMs).toBeLessThanOrEqual(0);
  });
});

describe('a new shipment\'s first poll', () => {
  it('asks only about what it could still claim, within its share of the carrier\'s window', async () => {
    const asked: string[] = [];
    const limits: number[] = [];
    const { deps } = fakes(async (n) => { asked.push(n); return snap; });
    deps.shipments.claim = async (want) => want.filter((w) => w.id !== '2');
    deps.limiter = { take: async (_k, limit) => { limits.push(limit); return 0; } };
    expect(await pollShipments(deps, 'sandbox', refs(['1', '2']))).toEqual({ polled: 1, changed: 1, deferred: 0 });
    expect([asked, limits]).toEqual([['SBX-1'], [5]]);
  });
});

describe('exceptions and delays', () => {
  it('polls an exception four times less often than a moving parcel', async () => {
    const { deps, calls } = fakes(async (n) => (n === 'SBX-1' ? { ...snap, status: 'exception' } : snap));
    await pollShipments(deps, 'sandbox', refs(['1', '2']));
    const [exception, moving] = calls.updates.map((u) => u.nextPollAt.getTime() - Date.now());
    expect(exception).toBeGreaterThan(3.9 * moving!);
  });

  it('gives up exceptions after 14 days without news, stops claiming them, and looks for delays on every tick', async () => {
    const { deps, calls } = fakes(async () => snap);
    const now = new Date('2026-01-15T00:00:00Z');
    await fanOutPolls(deps, now);
    expect(calls.claims.every((c) => c.quietSince.getTime() === now.getTime() - 14 * 86_400_000)).toBe(true);
    expect(calls.giveUps).toEqual([new Date(now.getTime() - 14 * 86_400_000)]);
    expect(calls.delayChecks).toEqual([{ now, quietSince: new Date(now.getTime() - 48 * 3_600_000), staleAfterMs: 48 * 3_600_000 }]);
  });
});

describe('fanOutPolls', () => {
  it('claims no more per carrier and tick than the carrier rate limit allows', async () => {
    const ids = Array.from({ length: 50 }, (_, i) => `s${i}`);
    const { deps, calls } = fakes(async () => snap, { ids });
    deps.refreshEveryMs = 1_000;
    deps.carrierCallsPerSecond = 10;
    expect(await fanOutPolls(deps)).toEqual({ shipments: 10, batches: 1, delayed: 0, givenUp: 0 });
    expect(new Set(calls.claims.map((c) => c.limit))).toEqual(new Set([10]));
    expect(calls.claims.map((c) => c.carrier).sort()).toEqual(['kuaidi100', 'sandbox', 'sf', 'zto']);
  });

  it('shares one account\'s budget between the carriers followed through it, and paces their batches one after another', async () => {
    const ids = [...Array.from({ length: 30 }, (_, i) => `k${i}`)];
    const { deps, calls } = fakes(async () => snap, { ids });
    deps.refreshEveryMs = 3_000;
    deps.carrierCallsPerSecond = 10;
    // SF and ZTO through Kuaidi100: three carriers, one account, 30 calls a tick between them.
    for (const c of ['kuaidi100', 'sf', 'zto'] as const) deps.carriers[c] = { code: c, account: 'kuaidi100', serviceLevelHours: 72, track: async () => snap };
    deps.shipments.claimDue = async (carrier, _now, _until, limit, quietSince) => {
      calls.claims.push({ carrier, limit, quietSince });
      return carrier === 'sandbox' ? [] : Array.from({ length: limit }, (_, i) => ({ id: `${carrier}-${i}`, shopId: 's' }));
    };
    expect((await fanOutPolls(deps)).shipments).toBe(30);
    expect(Object.fromEntries(calls.claims.map((c) => [c.carrier, c.limit]))).toEqual({ sandbox: 30, kuaidi100: 10, sf: 10, zto: 10 });
    // The account's calls are paced as one line: sf's batch starts after kuaidi100's 10 calls, zto's after 20.
    expect(calls.slots.map((s) => s!.delayMs)).toEqual([0, 1_000, 2_000]);
  });

  it('gives what the other carriers of an account left to the one with more due', async () => {
    const { deps, calls } = fakes(async () => snap);
    deps.refreshEveryMs = 3_000;
    deps.carrierCallsPerSecond = 10;
    for (const c of ['kuaidi100', 'sf', 'zto'] as const) deps.carriers[c] = { code: c, account: 'kuaidi100', serviceLevelHours: 72, track: async () => snap };
    // Only kuaidi100 has parcels due (100 of them); SF has 4.
    const due: Record<string, number> = { kuaidi100: 100, sf: 4, zto: 0, sandbox: 0 };
    deps.shipments.claimDue = async (carrier, _now, _until, limit, quietSince) => {
      calls.claims.push({ carrier, limit, quietSince });
      const n = Math.min(limit, due[carrier]!);
      due[carrier]! -= n;
      return Array.from({ length: n }, (_, i) => ({ id: `${carrier}-${due[carrier]! + i}`, shopId: 's' }));
    };
    expect((await fanOutPolls(deps)).shipments).toBe(30);
    expect(calls.claims.filter((c) => c.carrier !== 'sandbox').map((c) => [c.carrier, c.limit])).toEqual([['kuaidi100', 10], ['sf', 10], ['zto', 10], ['kuaidi100', 16]]);
  });

  it('claims no carrier of a shared account past 2,000 a tick, and each at least one however small the budget', async () => {
    const { deps, calls } = fakes(async () => snap);
    for (const c of ['kuaidi100', 'sf', 'zto'] as const) deps.carriers[c] = { code: c, account: 'kuaidi100', serviceLevelHours: 72, track: async () => snap };
    deps.shipments.claimDue = async (carrier, _now, _until, limit, quietSince) => {
      calls.claims.push({ carrier, limit, quietSince });
      return carrier === 'kuaidi100' ? Array.from({ length: limit }, (_, i) => ({ id: `k-${calls.claims.length}-${i}`, shopId: 's' })) : [];
    };
    // 9,000 calls a tick (the defaults: 10 a second, every 15 minutes), only Kuaidi100's own waybills due.
    deps.refreshEveryMs = 900_000;
    deps.carrierCallsPerSecond = 10;
    expect((await fanOutPolls(deps)).shipments).toBe(2_000);
    calls.claims.length = 0;
    // One call a tick between three carriers: each is still asked for one.
    deps.refreshEveryMs = 1_000;
    deps.carrierCallsPerSecond = 1;
    await fanOutPolls(deps);
    expect(calls.claims.filter((c) => c.carrier !== 'sandbox').map((c) => [c.carrier, c.limit])).toEqual([['kuaidi100', 1], ['sf', 1], ['zto', 1]]);
  });

  it('queues a tick\'s batches in claim order, each paced after the calls of the ones before it, all ending with the tick', async () => {
    const ids = Array.from({ length: 3 * POLL_BATCH }, (_, i) => `s${i}`);
    const { deps, calls } = fakes(async () => snap, { ids });
    deps.refreshEveryMs = 10_000;
    deps.carrierCallsPerSecond = 10;
    const now = new Date('2026-01-15T00:00:00Z');
    await fanOutPolls(deps, now);
    expect(calls.polls).toEqual([ids.slice(0, POLL_BATCH), ids.slice(POLL_BATCH, 2 * POLL_BATCH), ids.slice(2 * POLL_BATCH)]);
    expect(calls.slots.map((s) => s!.delayMs)).toEqual([0, 2_500, 5_000]);
    expect(new Set(calls.slots.map((s) => s!.until.getTime()))).toEqual(new Set([now.getTime() + 10_000]));
  });

  it('queues claimed shipments in batches of one carrier each', async () => {
    const ids = [...Array.from({ length: POLL_BATCH + 3 }, (_, i) => `s${i}`), 'k1', 'k2'];
    const { deps, calls } = fakes(async () => snap, { ids });
    expect(await fanOutPolls(deps)).toEqual({ shipments: ids.length, batches: 3, delayed: 0, givenUp: 0 });
    expect(calls.polls.map((b) => b.length).sort((a, b) => a - b)).toEqual([2, 3, POLL_BATCH]);
    expect(calls.polls.find((b) => b.includes('k1'))).toEqual(['k1', 'k2']);
  });
});

describe('push tracking', () => {
  /** `fakes` with a pushing, recognising client; the store records what is written of com and subscription. */
  function pushing(subscribe: () => Promise<void>, recognise: () => Promise<string | null> = async () => 'yunda', given: Partial<TrackedShipment> = {}) {
    const f = fakes(async () => snap);
    const written = { coms: [] as string[], subscriptions: [] as string[], ended: [] as string[][], subscribeCalls: [] as Array<string | undefined> };
    const client: CarrierClient = {
      code: 'kuaidi100', serviceLevelHours: 72, track: async () => snap, recognise, pushedBy: 'kuaidi100',
      subscribe: async (q) => { written.subscribeCalls.push(q.carrierCom); await subscribe(); },
    };
    f.deps.carriers.kuaidi100 = client;
    Object.assign(f.deps.shipments, {
      load: async (want: string[]) => want.map((id) => ({ ...shipment(id), carrier: 'kuaidi100', ...given })),
      findOpen: async () => [{ ...shipment('1'), carrier: 'kuaidi100', push: 'subscribed', ...given }],
      recordCarrierCom: async (_s: unknown, com: string) => void written.coms.push(com),
      recordSubscription: async (_s: unknown, outcome: string) => void written.subscriptions.push(outcome),
      endPush: async (ended: Array<{ id: string }>, renewBelow: number) => void written.ended.push([...ended.map((e) => e.id), `renewBelow ${renewBelow}`]),
    });
    return { ...f, written };
  }

  it('recognises the carrier and subscribes on the first poll, then polls PUSHED_POLL_FACTOR times less often', async () => {
    const { deps, calls, written } = pushing(async () => undefined);
    await pollShipments(deps, 'kuaidi100', refs(['1']));
    expect(written).toMatchObject({ coms: ['yunda'], subscriptions: ['subscribed'], subscribeCalls: ['yunda'] });
    const inMs = calls.updates[0]!.nextPollAt.getTime() - Date.now();
    expect(inMs).toBeGreaterThan(0.8 * PUSHED_POLL_FACTOR * deps.refreshEveryMs - 1_000);
  });

  it('neither asks again nor subscribes again what the shipment already knows', async () => {
    const recognise = async () => { throw new Error('asked again'); };
    const { deps, written } = pushing(async () => { throw new Error('subscribed again'); }, recognise, { carrierCom: 'ems', push: 'ended' });
    expect(await pollShipments(deps, 'kuaidi100', refs(['1']))).toMatchObject({ polled: 1 });
    expect(written).toMatchObject({ coms: [], subscriptions: [] });
  });

  it('records a refused subscription, leaves a transient failure to the next poll, and polls on either way', async () => {
    const refused = pushing(async () => { throw new PermanentError('carrier_rejected', '701'); });
    expect(await pollShipments(refused.deps, 'kuaidi100', refs(['1']))).toMatchObject({ polled: 1, changed: 1 });
    expect(refused.written.subscriptions).toEqual(['refused']);
    const down = pushing(async () => { throw new TransientError('carrier_unavailable', '500'); });
    expect(await pollShipments(down.deps, 'kuaidi100', refs(['1']))).toMatchObject({ polled: 1, changed: 1 });
    expect(down.written.subscriptions).toEqual([]);
    // At the usual pace: not subscribed.
    expect(down.calls.updates[0]!.nextPollAt.getTime() - Date.now()).toBeLessThan(deps0().refreshEveryMs);
  });

  it('applies a verified push as a poll; an ended subscription hands the shipment back to polling; a forgery changes nothing', async () => {
    const { deps, calls, written } = pushing(async () => undefined);
    const receivers = (push: object | null) => ({
      kuaidi100: {
        read: () => push
          ? { verified: true as const, push: { trackingNumber: 'YT1', snapshot: snap, ended: false, ...push }, reply: { status: 200, contentType: 'application/json', body: 'ok' } }
          : { verified: false as const, why: 'bad sign', reply: { status: 400, contentType: 'application/json', body: 'no' } },
      },
    });
    const pushDeps = { shipments: deps.shipments, carriers: deps.carriers, refreshEveryMs: deps.refreshEveryMs, jobs: deps.jobs };
    expect(await receivePush({ ...pushDeps, receivers: receivers(null) }, 'kuaidi100', Buffer.alloc(0))).toMatchObject({ reply: { status: 400 }, shipments: 0 });
    expect(calls.applied).toEqual([]);
    expect(await receivePush({ ...pushDeps, receivers: receivers({}) }, 'kuaidi100', Buffer.alloc(0))).toMatchObject({ reply: { status: 200 }, shipments: 1 });
    expect(calls.applied).toEqual(['1']);
    await receivePush({ ...pushDeps, receivers: receivers({ snapshot: null, ended: true }) }, 'kuaidi100', Buffer.alloc(0));
    expect([calls.applied, written.ended]).toEqual([['1'], [['1', 'renewBelow 0']]]);
    await receivePush({ ...pushDeps, receivers: receivers({ snapshot: null, carrierCom: 'yunda' }) }, 'kuaidi100', Buffer.alloc(0));
    expect(written.coms).toEqual(['yunda']);
    await expect(receivePush({ ...pushDeps, receivers: {} }, 'kuaidi100', Buffer.alloc(0))).rejects.toMatchObject({ code: 'not_found' });
  });
});

const deps0 = () => fakes(async () => snap).deps;

describe('limits', () => {
  it('lets one more in below the cap and names the cap past it', () => {
    expect(() => assertUnderLimit('shipmentsPerOrder', 20, 19)).not.toThrow();
    expect(() => assertUnderLimit('shipmentsPerOrder', 20, 20)).toThrow(
      expect.objectContaining({ code: 'limit_reached', message: 'limit reached: at most 20 shipments per order (SHIPMENTS_PER_ORDER_MAX); there are 20 already' }),
    );
    expect(() => assertUnderLimit('returnsPerOrder', 10, 10)).toThrow(/RETURNS_PER_ORDER_MAX/);
  });
});
