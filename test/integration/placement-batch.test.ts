import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.js';
import { createEventOutbox } from '../../src/db/event-outbox.js';
import { createOrderRepository } from '../../src/db/order.repository.js';
import { placeOrders } from '../../src/db/order-placement.batch.js';
import { newOrderId } from '../../src/domain/ids.js';
import type { PlacementOutcome } from '../../src/domain/ports.js';
import { priceOrder } from '../../src/domain/pricing.js';
import { createTestDatabase } from '../support/db.js';
import { insertShop } from '../support/webhook-sink.js';

let testDb: Awaited<ReturnType<typeof createTestDatabase>>;
let db: Database;
/** Orders whose delivery the outbox started, in notify order. */
const notified: string[] = [];
const outbox = () => createEventOutbox(db, ({ orderId }) => notified.push(orderId));
/** Each order's shop, as the jobs carry it. */
const shopOf = new Map<string, string>();
/** The orders as placement takes them (an id that is no order's under a shop of these tests). */
const refs = (ids: string[]) => ids.map((orderId) => ({ orderId, shopId: shopOf.get(orderId) ?? [...shopOf.values()][0]! }));

beforeAll(async () => {
  testDb = await createTestDatabase();
  db = testDb.db;
});
afterAll(async () => {
  await testDb?.drop();
});

async function product(shopId: string, sku: string, stock: number, priceMinor = 100, currency = 'CNY') {
  await db.rows('INSERT INTO products (shop_id, sku, name, price_minor, currency, stock) VALUES ($1, $2, $2, $3, $4, $5)', [shopId, sku, priceMinor, currency, stock]);
}

let clock = Date.now();
/** A `received` order, as the intake stores it; ids increase with each call (UUIDv7: arrival order). */
async function order(shopId: string, lines: Array<[sku: string, quantity: number]>, currency = 'CNY'): Promise<string> {
  const id = newOrderId(++clock);
  await db.rows(
    `WITH o AS (
       INSERT INTO orders (id, shop_id, idempotency_key, request_hash, status, currency, customer, shipping_address, payment_method, payment_token)
       VALUES ($1::uuid, $2, $1::text, 'h', 'received', $3, '{"name":"Li Lei"}', '{"city":"Shanghai"}', 'card', 'tok_ok') RETURNING id
     )
     INSERT INTO order_items (shop_id, order_id, line_no, sku, quantity)
     SELECT $2, o.id, t.n, t.sku, t.qty FROM o, unnest($4::text[], $5::int[]) WITH ORDINALITY AS t(sku, qty, n)`,
    [id, shopId, currency, lines.map((l) => l[0]), lines.map((l) => l[1])],
  );
  shopOf.set(id, shopId);
  return id;
}

const stockOf = async (shopId: string, sku: string) =>
  (await db.rows<{ stock: number; reserved: number }>('SELECT stock, reserved FROM products WHERE shop_id = $1 AND sku = $2', [shopId, sku]))[0];

async function ordersById(ids: string[]) {
  const rows = await db.rows<{ id: string; status: string; status_reason: string | null; total_minor: number | null; stock_state: string; placed: boolean; priced_lines: number }>(
    `SELECT o.id, o.status, o.status_reason, o.total_minor, o.stock_state, o.placed_at IS NOT NULL AS placed,
            (SELECT count(*)::int FROM order_items i WHERE i.order_id = o.id AND i.unit_price_minor IS NOT NULL AND i.product_id IS NOT NULL) AS priced_lines
       FROM orders o WHERE o.id = ANY($1::uuid[])`,
    [ids],
  );
  return new Map(rows.map((r) => [r.id, r]));
}

const eventsOf = (ids: string[]) =>
  db.rows<{ order_id: string; type: string; seq: number }>('SELECT order_id, type, seq FROM order_events WHERE order_id = ANY($1::uuid[]) ORDER BY seq', [ids]);

const shuffled = <T>(xs: T[]) => xs.map((x) => ({ x, k: Math.random() })).sort((a, b) => a.k - b.k).map((p) => p.x);

describe('placeOrders: a batch in one transaction', () => {
  it('gives stock to orders in id order, all or nothing each, until it runs out; later smaller orders still fit', async () => {
    const shop = await insertShop(db, 'https://shop.example/hooks');
    await product(shop.id, 'A', 10, 100);
    await product(shop.id, 'B', 5, 250);
    const o1 = await order(shop.id, [['A', 4]]); // placed, A 6 left
    const o2 = await order(shop.id, [['A', 3], ['B', 2]]); // placed, A 3, B 3
    const o3 = await order(shop.id, [['A', 4]]); // out of stock
    const o4 = await order(shop.id, [['A', 1], ['B', 4]]); // out of stock on B: takes no A either
    const o5 = await order(shop.id, [['A', 3]]); // placed, A 0
    const o6 = await order(shop.id, [['B', 3]]); // placed, B 0
    const o7 = await order(shop.id, [['A', 1]]); // out of stock
    const ids = [o1, o2, o3, o4, o5, o6, o7];
    const input = shuffled(ids);
    notified.length = 0;

    const outcomes = await placeOrders(db, outbox(), refs(input), priceOrder);

    const expected = new Map<string, PlacementOutcome>([
      [o1, { outcome: 'placed', totalMinor: 400 }],
      [o2, { outcome: 'placed', totalMinor: 800 }],
      [o3, { outcome: 'rejected', reason: 'out_of_stock' }],
      [o4, { outcome: 'rejected', reason: 'out_of_stock' }],
      [o5, { outcome: 'placed', totalMinor: 300 }],
      [o6, { outcome: 'placed', totalMinor: 750 }],
      [o7, { outcome: 'rejected', reason: 'out_of_stock' }],
    ]);
    expect(outcomes).toEqual(input.map((id) => expected.get(id)));
    expect(await stockOf(shop.id, 'A')).toEqual({ stock: 0, reserved: 10 });
    expect(await stockOf(shop.id, 'B')).toEqual({ stock: 0, reserved: 5 });

    const rows = await ordersById(ids);
    for (const id of [o1, o2, o5, o6]) {
      expect(rows.get(id)).toMatchObject({ status: 'placed', status_reason: null, total_minor: (expected.get(id) as { totalMinor: number }).totalMinor, stock_state: 'reserved', placed: true });
    }
    expect(rows.get(o2)!.priced_lines).toBe(2);
    for (const id of [o3, o4, o7]) {
      expect(rows.get(id)).toMatchObject({ status: 'rejected', status_reason: 'out_of_stock', total_minor: null, stock_state: 'none', placed: false, priced_lines: 0 });
    }
    // One event per order, seq in id order, delivery started for each once committed.
    const events = await eventsOf(ids);
    expect(events.map((e) => [e.order_id, e.type])).toEqual(ids.map((id) => [id, expected.get(id)!.outcome === 'placed' ? 'order.placed' : 'order.rejected']));
    expect([...notified].sort()).toEqual([...ids].sort());
  });

  it('acts once on an id given several times: the copies are skipped with the status the first left', async () => {
    const shop = await insertShop(db, 'https://shop.example/hooks');
    await product(shop.id, 'C', 5);
    const d1 = await order(shop.id, [['C', 2]]);
    const d2 = await order(shop.id, [['C', 4]]);
    const outcomes = await placeOrders(db, outbox(), refs([d1, d2, d1, d2, d1]), priceOrder);
    expect(outcomes).toEqual([
      { outcome: 'placed', totalMinor: 200 },
      { outcome: 'rejected', reason: 'out_of_stock' },
      { outcome: 'skipped', status: 'placed' },
      { outcome: 'skipped', status: 'rejected' },
      { outcome: 'skipped', status: 'placed' },
    ]);
    expect(await stockOf(shop.id, 'C')).toEqual({ stock: 3, reserved: 2 });
    expect((await eventsOf([d1, d2])).map((e) => e.type)).toEqual(['order.placed', 'order.rejected']);
  });

  it('skips an order no longer received, and places the rest of its batch', async () => {
    const shop = await insertShop(db, null);
    await product(shop.id, 'D', 5);
    const e1 = await order(shop.id, [['D', 2]]);
    expect(await placeOrders(db, outbox(), refs([e1]), priceOrder)).toEqual([{ outcome: 'placed', totalMinor: 200 }]);
    const e2 = await order(shop.id, [['D', 3]]);
    expect(await placeOrders(db, outbox(), refs([e1, e2]), priceOrder)).toEqual([
      { outcome: 'skipped', status: 'placed' },
      { outcome: 'placed', totalMinor: 300 },
    ]);
    // A retry of the whole batch changes nothing.
    expect(await placeOrders(db, outbox(), refs([e2, e1]), priceOrder)).toEqual([
      { outcome: 'skipped', status: 'placed' },
      { outcome: 'skipped', status: 'placed' },
    ]);
    expect(await stockOf(shop.id, 'D')).toEqual({ stock: 0, reserved: 5 });
    // This shop has no webhookUrl: nothing to deliver, nothing recorded.
    expect(await eventsOf([e1, e2])).toEqual([]);
  });

  it("rejects what pricing refuses without taking stock, and prices each shop's orders from its own catalog", async () => {
    const shop = await insertShop(db, 'https://shop.example/hooks');
    const other = await insertShop(db, null);
    await product(shop.id, 'E', 2, 100);
    await product(other.id, 'E', 1, 999);
    const unknown = await order(shop.id, [['E', 1], ['NOPE', 1]]);
    const wrongCurrency = await order(shop.id, [['E', 1]], 'USD');
    const fits = await order(shop.id, [['E', 2]]);
    const elsewhere = await order(other.id, [['E', 1]]);
    const missing = newOrderId(++clock);
    const outcomes = await placeOrders(db, outbox(), refs([unknown, wrongCurrency, missing, 'not-a-uuid', fits, elsewhere]), priceOrder);
    expect(outcomes).toEqual([
      { outcome: 'rejected', reason: 'unknown_sku' },
      { outcome: 'rejected', reason: 'currency_mismatch' },
      { outcome: 'skipped', status: 'rejected' },
      { outcome: 'skipped', status: 'rejected' },
      { outcome: 'placed', totalMinor: 200 },
      { outcome: 'placed', totalMinor: 999 },
    ]);
    expect(await stockOf(shop.id, 'E')).toEqual({ stock: 0, reserved: 2 });
    expect(await stockOf(other.id, 'E')).toEqual({ stock: 0, reserved: 1 });
    const rows = await ordersById([unknown, wrongCurrency]);
    expect(rows.get(unknown)).toMatchObject({ status: 'rejected', status_reason: 'unknown_sku', priced_lines: 0, stock_state: 'none' });
    expect(rows.get(wrongCurrency)).toMatchObject({ status: 'rejected', status_reason: 'currency_mismatch' });
    expect((await eventsOf([unknown, wrongCurrency, fits])).map((e) => e.type)).toEqual(['order.rejected', 'order.rejected', 'order.placed']);
  });

  it('never oversells and never deadlocks when batches on the same hot SKUs run in parallel', async () => {
    const shop = await insertShop(db, 'https://shop.example/hooks');
    await product(shop.id, 'HOT', 30);
    await product(shop.id, 'WARM', 40);
    const ids: string[] = [];
    for (let i = 0; i < 150; i++) {
      // Some orders take both products, in either line order: each batch still locks them in id order.
      const lines: Array<[string, number]> = i % 3 === 0 ? [['HOT', 1]] : i % 3 === 1 ? [['WARM', 1], ['HOT', 1]] : [['HOT', 2], ['WARM', 1]];
      ids.push(await order(shop.id, lines));
    }
    // Two halves interleaved, plus a third batch overlapping both (a duplicate delivery in another worker).
    const batches = [ids.filter((_, i) => i % 2 === 0), ids.filter((_, i) => i % 2 === 1), shuffled(ids.filter((_, i) => i % 5 === 0))];
    const results = await Promise.all(batches.map((b) => placeOrders(db, outbox(), refs(shuffled(b)), priceOrder)));

    const acted = results.flat().filter((o) => o.outcome !== 'skipped');
    expect(acted).toHaveLength(150); // each order acted on exactly once, whichever batch got it
    const rows = [...(await ordersById(ids)).values()];
    const placed = rows.filter((r) => r.status === 'placed');
    expect(rows.filter((r) => r.status === 'rejected' && r.status_reason === 'out_of_stock')).toHaveLength(150 - placed.length);
    expect(acted.filter((o) => o.outcome === 'placed')).toHaveLength(placed.length);

    const [held] = await db.rows<{ hot: number; warm: number }>(
      `SELECT coalesce(sum(i.quantity) FILTER (WHERE i.sku = 'HOT'), 0)::int AS hot, coalesce(sum(i.quantity) FILTER (WHERE i.sku = 'WARM'), 0)::int AS warm
         FROM order_items i JOIN orders o ON o.id = i.order_id WHERE o.id = ANY($1::uuid[]) AND o.status = 'placed'`,
      [ids],
    );
    const hot = await stockOf(shop.id, 'HOT');
    const warm = await stockOf(shop.id, 'WARM');
    expect(hot).toEqual({ stock: 30 - held!.hot, reserved: held!.hot });
    expect(warm).toEqual({ stock: 40 - held!.warm, reserved: held!.warm });
    expect(held!.hot).toBeLessThanOrEqual(30);
    // Single-unit HOT orders keep coming after the two-unit ones no longer fit: the last unit is sold.
    expect(hot!.stock).toBe(0);
    expect(await eventsOf(ids)).toHaveLength(150);
  });
});

describe('OrderStore.place: concurrent jobs share transactions', () => {
  it('places concurrent calls through the batcher, each getting its own outcome', async () => {
    const shop = await insertShop(db, null);
    await product(shop.id, 'F', 10);
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) ids.push(await order(shop.id, [['F', 1]]));
    const orders = createOrderRepository(db, outbox());
    const outcomes = await Promise.all(ids.map((id) => orders.place(refs([id])[0]!, priceOrder)));
    expect(outcomes.filter((o) => o.outcome === 'placed')).toHaveLength(10);
    expect(outcomes.filter((o) => o.outcome === 'rejected' && o.reason === 'out_of_stock')).toHaveLength(30);
    // Stock goes by arrival (id) order whichever batch each call joined: the first ten got it.
    expect(outcomes.slice(0, 10).every((o) => o.outcome === 'placed')).toBe(true);
    expect(await stockOf(shop.id, 'F')).toEqual({ stock: 0, reserved: 10 });
  });

  it("fails only the job of an order whose placement throws, not its batch's neighbours", async () => {
    const shop = await insertShop(db, null);
    await product(shop.id, 'G', 10);
    await product(shop.id, 'BOOM', 10);
    const good = [await order(shop.id, [['G', 1]]), await order(shop.id, [['G', 2]])];
    const bad = await order(shop.id, [['BOOM', 1]]);
    const price: typeof priceOrder = (lines, catalog, currency) => {
      if (lines.some((l) => l.sku === 'BOOM')) throw new Error('pricing bug');
      return priceOrder(lines, catalog, currency);
    };
    const orders = createOrderRepository(db, outbox());
    const settled = await Promise.allSettled([good[0]!, bad, good[1]!].map((id) => orders.place(refs([id])[0]!, price)));
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(await stockOf(shop.id, 'G')).toEqual({ stock: 7, reserved: 3 });
    expect((await ordersById([bad])).get(bad)!.status).toBe('received');
  });
});
