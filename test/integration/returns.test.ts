import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client, orderBody, teaAndCupShop, waitForOrder, waitForStatus, type Client } from '../support/client.js';
import { ADMIN, startSystem, type TestSystem } from '../support/system.js';
import { startSink } from '../support/webhook-sink.js';
import { createDatabase, type Database } from '../../src/db/database.js';
import { createEventOutbox } from '../../src/db/event-outbox.js';
import { createShipmentRepository } from '../../src/db/shipment.repository.js';
import { SandboxCarrier } from '../../src/carriers/sandbox.carrier.js';
import { storeSnapshot } from '../../src/domain/tracking-snapshot.js';

/**
 * Returns (docs/api.md section 7a), end to end through web and workers: a return refunds exactly its lines
 * once, restocks once when asked, refuses more than was sold, and one sent with a tracking number is received
 * by its parcel's delivery. What the shop sees: the API, its webhooks, and the provider's own ledger.
 */

let sys: TestSystem;
let shop: Client;
let shopId: string;
let db: Database;
let sink: Awaited<ReturnType<typeof startSink>>;

beforeAll(async () => {
  sink = await startSink();
  sys = await startSystem({
    env: { TRACKING_REFRESH_EVERY_MS: '300', WEBHOOK_ALLOW_PRIVATE_NETWORKS: '1', WEBHOOK_RETRY_BASE_MS: '50', RETURNS_PER_ORDER_MAX: '3', OPEN_SHIPMENTS_PER_SHOP_MAX: '3' },
  });
  ({ call: shop, id: shopId } = await teaAndCupShop(sys.base, 'Returns', sink.url));
  db = createDatabase(sys.config.databaseUrl, { poolMax: 2 });
});
afterAll(async () => {
  await db?.close();
  await sys?.close();
  sink?.close();
});

let keys = 0;
const key = () => ({ 'idempotency-key': `ret-${Date.now()}-${keys++}` });

/** A paid order of 2 TEA and 3 CUP (3,400 CNY minor), shipped; delivered when asked. */
async function shippedOrder(deliver: boolean): Promise<string> {
  const r = await shop('POST', '/v1/orders', orderBody([{ sku: 'TEA', quantity: 2 }, { sku: 'CUP', quantity: 3 }]), key());
  const id = (await waitForStatus(shop, r.json.id, ['paid'])).id as string;
  const parcel = deliver ? `SBX-OUT-${keys++}` : `SBX-LOST-${keys++}`;
  expect((await shop('POST', `/v1/orders/${id}/shipments`, { carrier: 'sandbox', trackingNumber: parcel, fromCity: 'Hangzhou' })).status).toBe(201);
  if (deliver) await waitForStatus(shop, id, ['delivered']);
  return id;
}

const stock = async (sku: string) => (await shop('GET', `/v1/products/${sku}`)).json.stock as number;
const ledger = async (orderId: string) => (await fetch(`${sys.base}/sandbox/charges?reference=${orderId}`).then((r) => r.json())).data as Array<{ status: string; refundedMinor: number; amountMinor: number }>;
const eventsOf = (orderId: string) => {
  const seen = new Map<string, string>();
  for (const h of sink.hits) {
    const e = JSON.parse(h.body);
    if (e.data.order.id === orderId) seen.set(e.id, e.type);
  }
  return [...seen.values()];
};

describe('returns', () => {
  it('refunds exactly the returned lines once and restocks them once, when the shop receives the goods', async () => {
    const id = await shippedOrder(true);
    const [tea0, cup0] = [await stock('TEA'), await stock('CUP')];
    const k = key();
    const body = { items: [{ sku: 'TEA', quantity: 1 }, { sku: 'CUP', quantity: 2 }], reason: 'wrong colour', restock: true };
    const created = await shop('POST', `/v1/orders/${id}/returns`, body, k);
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe(`/v1/returns/${created.json.id}`);
    expect(created.json).toMatchObject({
      orderId: id, status: 'requested', reason: 'wrong colour', restock: true, amountMinor: 1_850, currency: 'CNY', refund: null, parcel: null,
      items: [{ sku: 'CUP', quantity: 2, unitPriceMinor: 300 }, { sku: 'TEA', quantity: 1, unitPriceMinor: 1_250 }],
    });
    // The same request again is the same return; another request under the same key is refused.
    const replay = await shop('POST', `/v1/orders/${id}/returns`, body, k);
    expect([replay.status, replay.json.id]).toEqual([200, created.json.id]);
    expect((await shop('POST', `/v1/orders/${id}/returns`, { ...body, reason: 'other' }, k)).status).toBe(409);
    // Nothing moves until the goods are back.
    expect((await shop('GET', `/v1/orders/${id}`)).json.returns).toMatchObject([{ id: created.json.id, status: 'requested' }]);
    expect([await stock('TEA'), await stock('CUP')]).toEqual([tea0, cup0]);

    const received = await shop('POST', `/v1/returns/${created.json.id}/receive`);
    expect(received.status).toBe(200);
    expect(received.json).toMatchObject({ status: 'received', receivedBy: 'shop', refund: { amountMinor: 1_850 } });
    expect([await stock('TEA'), await stock('CUP')]).toEqual([tea0 + 1, cup0 + 2]);
    // Receiving again changes nothing: no second refund, no second restock.
    const again = await shop('POST', `/v1/returns/${created.json.id}/receive`);
    expect([again.status, again.json.refund.id, again.json.receivedAt]).toEqual([200, received.json.refund.id, received.json.receivedAt]);

    const o = await waitForOrder(shop, id, (x) => x.payment.refundedMinor > 0 && x.returns[0].refund.status === 'succeeded', 'the return refunded');
    expect(o.status).toBe('delivered');
    expect(o.payment).toMatchObject({ status: 'partially_refunded', capturedMinor: 3_400, refundedMinor: 1_850 });
    expect(await ledger(id)).toMatchObject([{ status: 'partially_refunded', amountMinor: 3_400, refundedMinor: 1_850 }]);
    expect([await stock('TEA'), await stock('CUP')]).toEqual([tea0 + 1, cup0 + 2]);
    expect((await shop('GET', `/v1/returns/${created.json.id}`)).json).toEqual(o.returns[0]);

    // The shop heard of it once each, in order, and of the refund after.
    await waitForOrder(shop, id, () => eventsOf(id).includes('order.refunded'), 'the order.refunded webhook');
    const events = eventsOf(id);
    expect(events.filter((t) => t.startsWith('return.'))).toEqual(['return.requested', 'return.received']);
    expect(events.indexOf('return.received')).toBeLessThan(events.indexOf('order.refunded'));
  });

  it('never takes back more of a line than was sold and not yet returned, nor from an order not yet shipped', async () => {
    const id = await shippedOrder(true);
    const ret = (items: Array<{ sku: string; quantity: number }>) => shop('POST', `/v1/orders/${id}/returns`, { items, reason: 'broken' }, key());
    expect((await ret([{ sku: 'TEA', quantity: 3 }])).json).toMatchObject({ status: 409, detail: expect.stringContaining('"TEA": 3 to return, but only 2') });
    expect((await ret([{ sku: 'GONE', quantity: 1 }])).json).toMatchObject({ status: 409, detail: 'sku "GONE" is not in this order' });
    expect((await ret([{ sku: 'TEA', quantity: 1 }])).status).toBe(201);
    // Two returns of the last TEA at once: one is taken, the other refused.
    const [a, b] = await Promise.all([ret([{ sku: 'TEA', quantity: 1 }]), ret([{ sku: 'TEA', quantity: 1 }])]);
    expect([a.status, b.status].sort()).toEqual([201, 409]);
    // RETURNS_PER_ORDER_MAX is 3 here; refused requests do not count.
    expect((await ret([{ sku: 'CUP', quantity: 1 }])).status).toBe(201);
    const over = await ret([{ sku: 'CUP', quantity: 1 }]);
    expect(over.json).toMatchObject({ status: 409, detail: expect.stringContaining('RETURNS_PER_ORDER_MAX') });
    expect((await shop('GET', `/v1/orders/${id}`)).json.returns).toHaveLength(3);

    const paid = await shop('POST', '/v1/orders', orderBody([{ sku: 'TEA', quantity: 1 }]), key());
    await waitForStatus(shop, paid.json.id, ['paid']);
    const early = await shop('POST', `/v1/orders/${paid.json.id}/returns`, { items: [{ sku: 'TEA', quantity: 1 }], reason: 'changed my mind' }, key());
    expect(early.json).toMatchObject({ status: 409, detail: 'only a shipped or delivered order can take a return; this one is paid' });
  });

  it('never lets returns racing on one order pass RETURNS_PER_ORDER_MAX (3 here)', async () => {
    const id = await shippedOrder(false);
    // Five single-item returns at once, all within what was sold (2 TEA, 3 CUP): only the cap can refuse them.
    const skus = ['TEA', 'TEA', 'CUP', 'CUP', 'CUP'];
    const replies = await Promise.all(skus.map((sku) => shop('POST', `/v1/orders/${id}/returns`, { items: [{ sku, quantity: 1 }], reason: 'x' }, key())));
    expect(replies.filter((r) => r.status === 201)).toHaveLength(3);
    for (const r of replies.filter((x) => x.status !== 201)) expect(r.json).toMatchObject({ status: 409, detail: expect.stringContaining('RETURNS_PER_ORDER_MAX') });
    expect((await shop('GET', `/v1/orders/${id}`)).json.returns).toHaveLength(3);
  });

  it('answers a bad return with a problem naming each field', async () => {
    const id = await shippedOrder(false);
    const bad = await shop('POST', `/v1/orders/${id}/returns`, { items: [{ sku: 'TEA', quantity: 1 }, { sku: 'TEA', quantity: 0 }], carrier: 'sandbox' }, key());
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toContain('application/problem+json');
    expect(bad.json.errors).toEqual([
      { path: 'items.1.quantity', message: 'must be at least 1' },
      { path: 'items', message: 'must list each sku once' },
      { path: 'reason', message: expect.any(String) },
    ]);
    const unpaired = await shop('POST', `/v1/orders/${id}/returns`, { items: [{ sku: 'TEA', quantity: 1 }], reason: 'x', carrier: 'sandbox' }, key());
    expect(unpaired.json.errors).toEqual([{ path: 'trackingNumber', message: 'carrier and trackingNumber go together: give both or neither' }]);
    expect((await shop('POST', `/v1/orders/${id}/returns`, { items: [{ sku: 'TEA', quantity: 1 }], reason: 'x' })).json.errors)
      .toMatchObject([{ path: 'header.Idempotency-Key' }]);
    expect((await shop('POST', '/v1/returns/not-a-return/receive')).status).toBe(404);
    expect((await shop('GET', `/v1/orders/${id}`)).json.returns).toEqual([]);
  });

  it('follows a return parcel like a shipment; its delivery receives the return, without restock when not asked', async () => {
    const id = await shippedOrder(true);
    const tea0 = await stock('TEA');
    // Part of the capture was refunded by hand before: the return refunds at most what is left.
    const manual = await shop('POST', `/v1/orders/${id}/refunds`, { amountMinor: 3_000 }, key());
    expect(manual.status).toBe(202);
    const created = await shop('POST', `/v1/orders/${id}/returns`, {
      items: [{ sku: 'TEA', quantity: 2 }], reason: 'too strong', carrier: 'sandbox', trackingNumber: 'SBX-BACK-1',
    }, key());
    expect(created.status).toBe(201);
    expect(created.json.parcel).toMatchObject({ carrier: 'sandbox', trackingNumber: 'SBX-BACK-1', status: 'info_received', estimatedDeliveryAt: expect.any(String) });
    // A parcel number already used by this order (its own shipment, or another return) is refused, not a second row.
    const reused = await shop('POST', `/v1/orders/${id}/returns`, { items: [{ sku: 'CUP', quantity: 1 }], reason: 'same box', carrier: 'sandbox', trackingNumber: 'SBX-BACK-1' }, key());
    expect(reused.json).toMatchObject({ status: 409, detail: expect.stringContaining('sandbox SBX-BACK-1 is already a parcel of this order') });
    const shipped = await shop('POST', `/v1/orders/${id}/shipments`, { carrier: 'sandbox', trackingNumber: 'SBX-BACK-1' });
    expect(shipped.json).toMatchObject({ status: 409, detail: `sandbox SBX-BACK-1 is the parcel of return ${created.json.id}, not a shipment` });

    const o = await waitForOrder(shop, id, (x) => x.returns[0]?.refund?.status === 'succeeded' && x.payment.status === 'refunded', 'the return received by its parcel and refunded');
    expect(o.returns[0]).toMatchObject({ status: 'received', receivedBy: 'parcel', amountMinor: 2_500, refund: { amountMinor: 400 }, parcel: { status: 'delivered' } });
    // The return's parcel is not one of the order's shipments, and the order stays delivered until fully refunded.
    expect(o.shipments).toHaveLength(1);
    expect(o.status).toBe('refunded');
    expect(o.payment).toMatchObject({ capturedMinor: 3_400, refundedMinor: 3_400 });
    expect(await ledger(id)).toMatchObject([{ status: 'refunded', refundedMinor: 3_400 }]);
    expect(await stock('TEA')).toBe(tea0);
    // Nothing more to refund: receiving by hand as well changes nothing.
    expect((await shop('POST', `/v1/returns/${created.json.id}/receive`)).json).toMatchObject({ receivedBy: 'parcel', refund: { amountMinor: 400 } });
    await waitForOrder(shop, id, () => eventsOf(id).filter((t) => t === 'order.refunded').length === 2, 'both order.refunded webhooks');
    expect(eventsOf(id).filter((t) => t.startsWith('return.') || t === 'shipment.updated').slice(-2)).toEqual(['return.requested', 'return.received']);
  });

  it('counts a return\'s parcel among the shop\'s open parcels (OPEN_SHIPMENTS_PER_SHOP_MAX is 3 here)', async () => {
    const other = client(sys.base, { bearer: (await client(sys.base, { basic: ADMIN })('POST', '/v1/admin/shops', { name: 'Full' })).json.apiKey });
    await other('PUT', '/v1/products/TEA', { name: 'Tea', priceMinor: 1_250, currency: 'CNY', stock: 10 });
    const lost: string[] = [];
    for (const n of [1, 2]) {
      const r = await other('POST', '/v1/orders', orderBody([{ sku: 'TEA', quantity: 2 }]), key());
      await waitForStatus(other, r.json.id, ['paid']);
      expect((await other('POST', `/v1/orders/${r.json.id}/shipments`, { carrier: 'sandbox', trackingNumber: `SBX-LOST-F${n}` })).status).toBe(201);
      lost.push(r.json.id);
    }
    const back = (trackingNumber?: string) => other('POST', `/v1/orders/${lost[0]}/returns`, {
      items: [{ sku: 'TEA', quantity: 1 }], reason: 'never mind', ...(trackingNumber ? { carrier: 'sandbox', trackingNumber } : {}),
    }, key());
    // SBX-LATE- parcels never arrive by themselves: the return stays requested until it is cancelled below.
    const first = await back('SBX-LATE-BACK-F1');
    expect(first.status).toBe(201);
    expect((await back('SBX-BACK-F2')).json).toMatchObject({ status: 409, detail: expect.stringContaining('OPEN_SHIPMENTS_PER_SHOP_MAX') });
    // Without a parcel, nothing more is followed: still taken.
    expect((await back()).status).toBe(201);
    // A cancelled return's parcel is no longer followed, nor one of the shop's open parcels: its place is free.
    expect((await other('POST', `/v1/returns/${first.json.id}/cancel`)).json.parcel).toMatchObject({ trackingEndedAt: expect.any(String) });
    expect((await back('SBX-BACK-F2')).status).toBe(201);
  });

  it('cancels a requested return once: its lines may be returned again, it cannot be received, and the shop hears of it once', async () => {
    const id = await shippedOrder(true);
    const all = { items: [{ sku: 'TEA', quantity: 2 }], reason: 'ordered twice' };
    const first = await shop('POST', `/v1/orders/${id}/returns`, all, key());
    expect(first.status).toBe(201);
    expect(first.json).toMatchObject({ status: 'requested', cancelledAt: null, cancelReason: null });
    // While it stands, every TEA is taken.
    expect((await shop('POST', `/v1/orders/${id}/returns`, all, key())).json).toMatchObject({ status: 409, detail: expect.stringContaining('"TEA": 2 to return, but only 0') });

    const cancelled = await shop('POST', `/v1/returns/${first.json.id}/cancel`, { reason: 'kept them after all' });
    expect(cancelled.status).toBe(200);
    expect(cancelled.json).toMatchObject({ id: first.json.id, status: 'cancelled', cancelReason: 'kept them after all', refund: null, receivedAt: null });
    expect(Date.parse(cancelled.json.cancelledAt)).toBeGreaterThanOrEqual(Date.parse(first.json.createdAt));
    // Again, with or without a body: answered as it is.
    const again = await shop('POST', `/v1/returns/${first.json.id}/cancel`);
    expect([again.status, again.json]).toEqual([200, cancelled.json]);
    expect((await shop('POST', `/v1/returns/${first.json.id}/cancel`, { reason: 'other' })).json).toEqual(cancelled.json);
    expect((await shop('GET', `/v1/returns/${first.json.id}`)).json).toEqual(cancelled.json);
    expect((await shop('POST', `/v1/returns/${first.json.id}/receive`)).json).toMatchObject({ status: 409, detail: 'this return is cancelled: it can no longer be received' });

    // Its lines are free again.
    const second = await shop('POST', `/v1/orders/${id}/returns`, all, key());
    expect(second.status).toBe(201);
    const o = (await shop('GET', `/v1/orders/${id}`)).json;
    expect(o.returns.map((r: { id: string; status: string }) => [r.id, r.status])).toEqual([[first.json.id, 'cancelled'], [second.json.id, 'requested']]);
    expect(o.returns[0]).toEqual(cancelled.json);
    expect(o.payment.refundedMinor).toBe(0);

    // A received return is not cancelled.
    expect((await shop('POST', `/v1/returns/${second.json.id}/receive`)).json).toMatchObject({ status: 'received', refund: { amountMinor: 2_500 } });
    const late = await shop('POST', `/v1/returns/${second.json.id}/cancel`, { reason: 'too late' });
    expect(late.headers.get('content-type')).toContain('application/problem+json');
    expect(late.json).toMatchObject({ status: 409, detail: 'only a requested return can be cancelled; this one is received' });
    expect((await shop('GET', `/v1/returns/${second.json.id}`)).json).toMatchObject({ status: 'received', cancelledAt: null });
    const bad = await shop('POST', `/v1/returns/${second.json.id}/cancel`, { reason: '', why: 'x' });
    expect(bad.status).toBe(400);
    expect(bad.json.errors.map((e: { path: string }) => e.path).sort()).toEqual(['(body)', 'reason']);
    expect((await shop('POST', '/v1/returns/not-a-return/cancel')).status).toBe(404);

    // Events go out in order per order: once the later return.received is in, a second return.cancelled would be too.
    await waitForOrder(shop, id, () => eventsOf(id).includes('return.received'), 'the return.received webhook');
    expect(eventsOf(id).filter((t) => t.startsWith('return.'))).toEqual(['return.requested', 'return.cancelled', 'return.requested', 'return.received']);
    const hook = sink.hits.map((h) => JSON.parse(h.body)).find((e) => e.type === 'return.cancelled' && e.data.order.id === id);
    expect(hook.data.order.returns[0]).toMatchObject({ id: first.json.id, status: 'cancelled' });
  });

  it('no longer follows a cancelled return\'s parcel: its delivery afterwards receives, refunds and restocks nothing', async () => {
    const id = await shippedOrder(true);
    const tea0 = await stock('TEA');
    const fault = (mode: string) => fetch(`${sys.base}/sandbox/carrier/faults`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ mode, forMs: 60_000 }),
    });
    // The carrier is down while the return is requested: its parcel cannot arrive before it is cancelled.
    expect((await fault('error500')).status).toBe(200);
    let created;
    let cancelled;
    try {
      created = await shop('POST', `/v1/orders/${id}/returns`, {
        items: [{ sku: 'TEA', quantity: 1 }], reason: 'wrong tea', restock: true, carrier: 'sandbox', trackingNumber: 'SBX-BACK-C1',
      }, key());
      expect(created.status).toBe(201);
      expect(created.json.parcel).toMatchObject({ status: 'info_received', trackingEndedAt: null });
      cancelled = await shop('POST', `/v1/returns/${created.json.id}/cancel`);
    } finally {
      await fault('none');
    }
    expect(cancelled.json).toMatchObject({ status: 'cancelled', cancelReason: null, parcel: { status: 'info_received', trackingEndedAt: expect.any(String) } });

    // The carrier delivers it (each query moves it a step), and a poll that asked before the cancel stores that
    // answer only now: it finds the parcel no longer followed and applies nothing, so no refund starts.
    const carrier = new SandboxCarrier({ baseUrl: `${sys.base}/sandbox`, timeoutMs: 5_000, serviceLevelHours: 1 });
    let answer = await carrier.track({ trackingNumber: 'SBX-BACK-C1' });
    for (let i = 0; answer.status !== 'delivered' && i < 5; i++) answer = await carrier.track({ trackingNumber: 'SBX-BACK-C1' });
    expect(answer.status).toBe('delivered');
    const refunds: unknown[] = [];
    const deps = { shipments: createShipmentRepository(db, createEventOutbox(db)), refreshEveryMs: 300, jobs: { refund: async (r: unknown) => Boolean(refunds.push(r)) } };
    const parcel = { id: created.json.parcel.id, shopId, fromCity: 'Shanghai', toCity: 'Hangzhou', push: null };
    expect(await storeSnapshot(deps, carrier, parcel, answer, async () => [])).toEqual({ changed: false });
    expect(refunds).toEqual([]);

    // Nor do the ticks ask about it: a return requested after it, on another order, is received by its parcel
    // meanwhile, over ticks that would have asked about the cancelled one too (due, and delivered at the carrier).
    const control = await shippedOrder(true);
    const next = await shop('POST', `/v1/orders/${control}/returns`, {
      items: [{ sku: 'CUP', quantity: 1 }], reason: 'chipped', carrier: 'sandbox', trackingNumber: 'SBX-BACK-C2',
    }, key());
    await waitForOrder(shop, control, (x) => x.returns[0]?.status === 'received', 'the control return received by its parcel');

    const o = (await shop('GET', `/v1/orders/${id}`)).json;
    expect(o.returns).toEqual([{ ...cancelled.json }]);
    expect(o.payment).toMatchObject({ status: 'captured', refundedMinor: 0 });
    expect(await ledger(id)).toMatchObject([{ status: 'captured', refundedMinor: 0 }]);
    // The control order's two TEA sold, none back.
    expect(await stock('TEA')).toBe(tea0 - 2);
    expect(eventsOf(id).filter((t) => t.startsWith('return.'))).not.toContain('return.received');
    expect(next.status).toBe(201);
  });

  it('lets a new return take over a cancelled return\'s parcel: both returns\' goods in one box, received and refunded once', async () => {
    const id = await shippedOrder(true);
    const [tea0, cup0] = [await stock('TEA'), await stock('CUP')];
    const fault = (mode: string) => fetch(`${sys.base}/sandbox/carrier/faults`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ mode, forMs: 60_000 }),
    });
    // The carrier is down while the first return stands: its parcel cannot arrive before it is cancelled.
    expect((await fault('error500')).status).toBe(200);
    let first;
    try {
      first = await shop('POST', `/v1/orders/${id}/returns`, {
        items: [{ sku: 'TEA', quantity: 1 }], reason: 'wrong tea', carrier: 'sandbox', trackingNumber: 'SBX-BOX-1',
      }, key());
      expect(first.status).toBe(201);
      expect((await shop('POST', `/v1/returns/${first.json.id}/cancel`, { reason: 'sent with the cup' })).json.status).toBe('cancelled');
    } finally {
      await fault('none');
    }
    // The buyer packs the tea and a cup in that box: one return of both, on the same tracking number.
    const both = await shop('POST', `/v1/orders/${id}/returns`, {
      items: [{ sku: 'TEA', quantity: 1 }, { sku: 'CUP', quantity: 1 }], reason: 'wrong tea, chipped cup', restock: true,
      carrier: 'sandbox', trackingNumber: 'SBX-BOX-1',
    }, key());
    expect(both.status, both.text).toBe(201);
    expect(both.json.parcel).toMatchObject({ id: first.json.parcel.id, trackingNumber: 'SBX-BOX-1', trackingEndedAt: null });
    // A parcel of a return still standing is not taken over.
    const third = await shop('POST', `/v1/orders/${id}/returns`, { items: [{ sku: 'CUP', quantity: 1 }], reason: 'x', carrier: 'sandbox', trackingNumber: 'SBX-BOX-1' }, key());
    expect(third.json).toMatchObject({ status: 409, detail: expect.stringContaining('sandbox SBX-BOX-1 is already a parcel of this order') });

    const o = await waitForOrder(shop, id, (x) => x.returns.some((r: { id: string; refund: { status: string } | null }) => r.id === both.json.id && r.refund?.status === 'succeeded'), 'the box received and refunded');
    const byId = new Map(o.returns.map((r: { id: string }) => [r.id, r]));
    expect(byId.get(both.json.id)).toMatchObject({ status: 'received', receivedBy: 'parcel', amountMinor: 1_550, refund: { amountMinor: 1_550 }, parcel: { status: 'delivered' } });
    expect(byId.get(first.json.id)).toMatchObject({ status: 'cancelled', refund: null, parcel: null });
    expect(o.payment.refundedMinor).toBe(1_550);
    expect(await ledger(id)).toMatchObject([{ status: 'partially_refunded', refundedMinor: 1_550 }]);
    expect([await stock('TEA'), await stock('CUP')]).toEqual([tea0 + 1, cup0 + 1]);
  });
});

