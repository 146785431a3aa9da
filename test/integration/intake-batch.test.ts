import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/db.js';
import { orderBody } from '../support/client.js';
import { createOrderRepository } from '../../src/db/order.repository.js';
import { createEventOutbox } from '../../src/db/event-outbox.js';
import { insertReceivedOrders } from '../../src/db/order-intake.batch.js';
import { orderInputSchema, type OrderInput } from '../../src/domain/order-input.js';
import { fingerprint, newOrderId } from '../../src/domain/ids.js';
import type { NewOrder, OrderStore } from '../../src/domain/ports.js';

let testDb: Awaited<ReturnType<typeof createTestDatabase>>;
let orders: OrderStore;
const shopId = newOrderId();

beforeAll(async () => {
  testDb = await createTestDatabase();
  await testDb.db.rows(`INSERT INTO shops (id, name, api_key_hash, webhook_secret) VALUES ($1, 'batch shop', 'h', 's')`, [shopId]);
  orders = createOrderRepository(testDb.db, createEventOutbox(testDb.db));
});
afterAll(() => testDb?.drop());

const input = (sku: string, overrides: Record<string, unknown> = {}): OrderInput =>
  orderInputSchema.parse(orderBody([{ sku, quantity: 1 }, { sku: `${sku}-B`, quantity: 2 }], overrides));
const newOrder = (key: string, i: OrderInput = input('SKU')): NewOrder => ({ id: newOrderId(), shopId, idempotencyKey: key, requestHash: fingerprint(i), input: i });
const count = async (sql: string, bind: unknown[]) => (await testDb.db.rows<{ n: number }>(sql, bind))[0]!.n;

describe('intake group commit', () => {
  it('stores concurrent orders in shared statements, each with its own lines and result', async () => {
    const batch = Array.from({ length: 40 }, (_, k) => newOrder(`many-${k}`, input(`S${k}`)));
    const results = await Promise.all(batch.map((o) => orders.createReceived(o)));
    expect(results.map((r) => [r.id, r.created, r.status])).toEqual(batch.map((o) => [o.id, true, 'received']));
    const lines = await testDb.db.rows<{ order_id: string; line_no: number; sku: string; quantity: number }>(
      'SELECT order_id, line_no, sku, quantity FROM order_items WHERE order_id = ANY($1::uuid[]) ORDER BY order_id, line_no',
      [batch.map((o) => o.id)],
    );
    expect(lines).toHaveLength(80);
    // Rows written by one transaction share its xmin: 40 orders took far fewer than 40 commits.
    const commits = await count('SELECT count(DISTINCT xmin::text)::int AS n FROM orders WHERE id = ANY($1::uuid[])', [batch.map((o) => o.id)]);
    expect(commits).toBeLessThanOrEqual(3);
    const k = 7;
    expect(lines.filter((l) => l.order_id === batch[k]!.id)).toEqual([
      { order_id: batch[k]!.id, line_no: 1, sku: `S${k}`, quantity: 1 },
      { order_id: batch[k]!.id, line_no: 2, sku: `S${k}-B`, quantity: 2 },
    ]);
  });

  it('makes one order of two items with the same key in one batch: the second is a replay', async () => {
    const first = newOrder('twice');
    const second = newOrder('twice');
    const [a, b] = await insertReceivedOrders(testDb.db, [first, second]);
    expect(a).toMatchObject({ id: first.id, created: true });
    expect(b).toMatchObject({ id: first.id, created: false, requestHash: first.requestHash });
    expect(await count('SELECT count(*)::int AS n FROM orders WHERE idempotency_key = $1', ['twice'])).toBe(1);
    expect(await count('SELECT count(*)::int AS n FROM order_items WHERE order_id = $1', [first.id])).toBe(2);
  });

  it('answers a key stored by an earlier batch with that order, not a new one', async () => {
    const original = newOrder('earlier');
    await orders.createReceived(original);
    const again = await orders.createReceived(newOrder('earlier'));
    expect(again).toMatchObject({ id: original.id, created: false });
  });

  it('does not deadlock when concurrent batches take the same keys in opposite orders', async () => {
    const keys = Array.from({ length: 30 }, (_, k) => `crossed-${k}`);
    const runs = await Promise.all([
      insertReceivedOrders(testDb.db, keys.map((k) => newOrder(k))),
      insertReceivedOrders(testDb.db, [...keys].reverse().map((k) => newOrder(k))),
      insertReceivedOrders(testDb.db, keys.filter((_, i) => i % 2 === 0).map((k) => newOrder(k))),
    ]);
    const created = runs.flat().filter((r) => !(r instanceof Error) && r.created).length;
    expect(created).toBe(30);
    expect(await count(`SELECT count(*)::int AS n FROM orders WHERE idempotency_key LIKE 'crossed-%'`, [])).toBe(30);
  });

  it('fails only the order Postgres refuses, not the others of its batch', async () => {
    // Validation keeps such a value out; here the store is handed one directly (currency is char(3)).
    const bad = newOrder('refused', { ...input('SKU'), currency: 'EURO' });
    const good = Array.from({ length: 5 }, (_, k) => newOrder(`beside-${k}`));
    const settled = await Promise.allSettled([...good, bad].map((o) => orders.createReceived(o)));
    expect(settled.slice(0, 5).map((s) => s.status)).toEqual(Array(5).fill('fulfilled'));
    expect(settled[5]!.status).toBe('rejected');
    expect(await count(`SELECT count(*)::int AS n FROM orders WHERE idempotency_key LIKE 'beside-%'`, [])).toBe(5);
    expect(await count('SELECT count(*)::int AS n FROM orders WHERE idempotency_key = $1', ['refused'])).toBe(0);
  });
});
