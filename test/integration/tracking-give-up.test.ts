import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEventOutbox } from '../../src/db/event-outbox.js';
import { createOrderRepository } from '../../src/db/order.repository.js';
import { createReturnRepository } from '../../src/db/return.repository.js';
import { createShipmentRepository } from '../../src/db/shipment.repository.js';
import type { CarrierCode, TrackingSnapshot } from '../../src/domain/carrier.js';
import { EXCEPTION_GIVE_UP_MS } from '../../src/domain/tracking.service.js';
import type { CarrierPush } from '../../src/domain/tracking-ports.js';
import { createTestDatabase } from '../support/db.js';
import { verifiedKuaidi100Push } from '../support/verified-push.js';
import { insertOrder, insertShop } from '../support/webhook-sink.js';

/**
 * Issue 14: an `exception` without news for 14 days is given up, as a recorded fact: it is no longer claimed nor
 * one of the shop's open parcels (OPEN_SHIPMENTS_PER_SHOP_MAX), the shipment shows when, and news a carrier pushes
 * about it later follows it again. The parcel of a cancelled return is not revived by news. Against Postgres,
 * through the repositories and the push service the web and worker processes use.
 */

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let shipments: ReturnType<typeof createShipmentRepository>;
let orders: ReturnType<typeof createOrderRepository>;
let returns: ReturnType<typeof createReturnRepository>;

beforeAll(async () => {
  t = await createTestDatabase({ sandbox: false });
  const outbox = createEventOutbox(t.db);
  shipments = createShipmentRepository(t.db, outbox);
  orders = createOrderRepository(t.db, outbox);
  returns = createReturnRepository(t.db, outbox);
});
afterAll(async () => t?.drop());

const DAY = 86_400_000;
const quietSince = () => new Date(Date.now() - EXCEPTION_GIVE_UP_MS);

/** A shop with one shipped order and its parcels, each `[trackingNumber, status, days without news]`, all due. */
async function shopWith(carrier: CarrierCode, parcels: Array<[string, string, number]>) {
  const shop = await insertShop(t.db, null);
  const orderId = await insertOrder(t.db, shop.id);
  await t.db.rows(`UPDATE orders SET status = 'shipped' WHERE id = $1`, [orderId]);
  for (const [number, status, quietDays] of parcels) {
    await t.db.rows(
      `INSERT INTO shipments (id, order_id, shop_id, carrier, tracking_number, status, last_news_at, next_poll_at)
       VALUES (gen_random_uuid(), $1, $2, $3, $4, $5, now() - $6 * interval '1 day', now() - interval '1 minute')`,
      [orderId, shop.id, carrier, number, status, quietDays],
    );
  }
  return { shopId: shop.id, orderId };
}

const openCount = async (shopId: string) => (await t.db.rows<{ n: number }>('SELECT open_shipments AS n FROM shops WHERE id = $1', [shopId]))[0]!.n;
/** The shipments as `GET /v1/orders/{id}` shows them: number -> [status, trackingEndedAt set]. */
const shown = async (shopId: string, orderId: string) =>
  Object.fromEntries((await orders.get(shopId, orderId))!.shipments.map((s) => [s.trackingNumber, [s.status, s.trackingEndedAt !== null]]));
/** What the claim takes of the shop's parcels, with no exception held back for being quiet (so only the end of tracking can). */
const claimable = async (carrier: CarrierCode, shopId: string) => {
  const claimed = await shipments.claimDue(carrier, new Date(), new Date(Date.now() + 60_000), 100, new Date(0));
  const rows = await t.db.rows<{ tracking_number: string }>('SELECT tracking_number FROM shipments WHERE shop_id = $1 AND id = ANY($2::uuid[])', [
    shopId, claimed.map((c) => c.id),
  ]);
  // Claimed until a minute from now: due again for the next look.
  await t.db.rows(`UPDATE shipments SET next_poll_at = now() - interval '1 minute' WHERE id = ANY($1::uuid[])`, [claimed.map((c) => c.id)]);
  return rows.map((r) => r.tracking_number).sort();
};

describe('giving up a quiet exception', () => {
  it('is done in batches, once, only for exceptions quiet past 14 days: they are no longer claimed nor open', async () => {
    const { shopId, orderId } = await shopWith('sandbox', [
      ['SBX-Q1', 'exception', 15], ['SBX-Q2', 'exception', 20], ['SBX-Q3', 'exception', 30],
      ['SBX-RECENT', 'exception', 13], ['SBX-SLOW', 'in_transit', 30],
    ]);
    expect(await openCount(shopId)).toBe(5);
    expect(await claimable('sandbox', shopId)).toEqual(['SBX-Q1', 'SBX-Q2', 'SBX-Q3', 'SBX-RECENT', 'SBX-SLOW']);

    // Quietest first, a batch at a time; a repeat changes nothing.
    expect(await shipments.giveUpExceptions(quietSince(), 2)).toBe(2);
    expect(await shown(shopId, orderId)).toMatchObject({ 'SBX-Q3': ['exception', true], 'SBX-Q2': ['exception', true], 'SBX-Q1': ['exception', false] });
    expect(await shipments.giveUpExceptions(quietSince(), 2)).toBe(1);
    expect(await shipments.giveUpExceptions(quietSince(), 2)).toBe(0);

    expect(await shown(shopId, orderId)).toEqual({
      'SBX-Q1': ['exception', true], 'SBX-Q2': ['exception', true], 'SBX-Q3': ['exception', true],
      'SBX-RECENT': ['exception', false], 'SBX-SLOW': ['in_transit', false],
    });
    expect(await openCount(shopId)).toBe(2);
    expect(await claimable('sandbox', shopId)).toEqual(['SBX-RECENT', 'SBX-SLOW']);
    // Nor are they claimed by a first poll's claim (by id).
    const given = await t.db.rows<{ id: string }>(`SELECT id FROM shipments WHERE shop_id = $1 AND tracking_ended_at IS NOT NULL`, [shopId]);
    expect(await shipments.claim(given.map((g) => ({ id: g.id, shopId })), new Date(), new Date(Date.now() + 60_000))).toEqual([]);
    expect(await shipments.load(given.map((g) => ({ id: g.id, shopId })))).toEqual([]);
  });
});

describe('news of a parcel no longer followed', () => {
  const refunds: unknown[] = [];
  const push = (p: CarrierPush) => verifiedKuaidi100Push(shipments, refunds)(p);
  const snapshot = (events: Array<[number, TrackingSnapshot['status']]>): TrackingSnapshot => ({
    status: events.at(-1)![1],
    events: events.map(([daysAgo, status]) => ({ at: new Date(Date.now() - daysAgo * DAY), status, description: status, location: null })),
    estimatedDeliveryAt: null,
  });

  it('follows a given-up parcel again when its carrier pushes news, and not for a replay of what it knew', async () => {
    const { shopId, orderId } = await shopWith('kuaidi100', [['YT-LOST-1', 'exception', 20]]);
    // Its one event, to the millisecond as a JavaScript date (and so a push of it) holds it.
    await t.db.rows(
      `INSERT INTO shipment_events (shop_id, shipment_id, at, status, description)
       SELECT shop_id, id, date_trunc('milliseconds', now() - interval '20 days'), 'exception', 'exception' FROM shipments WHERE shop_id = $1`,
      [shopId],
    );
    expect(await shipments.giveUpExceptions(quietSince(), 100)).toBeGreaterThanOrEqual(1);
    expect(await shown(shopId, orderId)).toEqual({ 'YT-LOST-1': ['exception', true] });
    expect(await openCount(shopId)).toBe(0);

    // What it already knew, pushed again (Kuaidi100 re-sends): nothing new, still given up.
    const known = await t.db.rows<{ at: Date }>('SELECT at FROM shipment_events WHERE shop_id = $1', [shopId]);
    const replay: TrackingSnapshot = { status: 'exception', events: [{ at: known[0]!.at, status: 'exception', description: 'exception', location: null }], estimatedDeliveryAt: null };
    expect((await push({ trackingNumber: 'YT-LOST-1', snapshot: replay, ended: false })).shipments).toBe(1);
    expect(await shown(shopId, orderId)).toEqual({ 'YT-LOST-1': ['exception', true] });
    expect(await openCount(shopId)).toBe(0);

    // The parcel is found: followed again, open again, claimed again in its turn.
    await push({ trackingNumber: 'YT-LOST-1', snapshot: snapshot([[20, 'exception'], [0, 'in_transit']]), ended: false });
    expect(await shown(shopId, orderId)).toEqual({ 'YT-LOST-1': ['in_transit', false] });
    expect(await openCount(shopId)).toBe(1);
    await t.db.rows(`UPDATE shipments SET next_poll_at = now() - interval '1 minute' WHERE shop_id = $1`, [shopId]);
    expect(await claimable('kuaidi100', shopId)).toEqual(['YT-LOST-1']);
    expect(refunds).toEqual([]);
  });

  it('leaves the parcel of a cancelled return alone: its pushed delivery receives nothing', async () => {
    const { shopId, orderId } = await shopWith('kuaidi100', []);
    const returnId = randomUUID();
    await t.db.rows(
      `INSERT INTO returns (id, order_id, shop_id, idempotency_key, request_hash, reason, amount_minor, currency)
       VALUES ($1, $2, $3, 'r', 'h', 'wrong size', 100, 'CNY')`,
      [returnId, orderId, shopId],
    );
    await t.db.rows(
      `INSERT INTO shipments (id, order_id, shop_id, carrier, tracking_number, status, next_poll_at, return_id)
       VALUES (gen_random_uuid(), $1, $2, 'kuaidi100', 'YT-BACK-1', 'in_transit', now(), $3)`,
      [orderId, shopId, returnId],
    );
    expect(await openCount(shopId)).toBe(1);
    const cancelled = await returns.cancel(shopId, returnId, 'the buyer kept it');
    expect(cancelled).toMatchObject({ status: 'cancelled', cancelReason: 'the buyer kept it', parcel: { status: 'in_transit', trackingEndedAt: expect.any(Date) } });
    expect(await openCount(shopId)).toBe(0);

    const r = await push({ trackingNumber: 'YT-BACK-1', snapshot: snapshot([[2, 'in_transit'], [0, 'delivered']]), ended: false });
    expect(r.shipments).toBe(0);
    expect(await returns.get(shopId, returnId)).toEqual(cancelled);
    expect(await openCount(shopId)).toBe(0);
    expect(await claimable('kuaidi100', shopId)).toEqual([]);
    expect(refunds).toEqual([]);
  });
});
