import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createShop, paidOrder, type Client, type Reply } from '../support/client.js';
import { startSystem, type TestSystem } from '../support/system.js';
import { createDatabase, type Database } from '../../src/db/database.js';
import { createEventOutbox } from '../../src/db/event-outbox.js';
import { createShipmentRepository } from '../../src/db/shipment.repository.js';
import { EXCEPTION_GIVE_UP_MS } from '../../src/domain/tracking.service.js';

/** Issue 14: caps on shipments per order (SHIPMENTS_PER_ORDER_MAX, default 20) and open ones per shop. */

const OPEN_PER_SHOP = 30;
let sys: TestSystem;
let db: Database;
let shop: Client;

beforeAll(async () => {
  sys = await startSystem({ env: { OPEN_SHIPMENTS_PER_SHOP_MAX: String(OPEN_PER_SHOP) } });
  db = createDatabase(sys.config.databaseUrl, { poolMax: 2 });
  shop = (await createShop(sys.base, 'Limits')).call;
  await shop('PUT', '/v1/products/BOX', { name: 'Box', priceMinor: 100, currency: 'CNY', stock: 100 });
}, 60_000);
afterAll(async () => {
  await db?.close();
  await sys?.close();
});


// SBX-LATE- parcels never end by themselves: the counts below stay put while the test runs.
const ship = (call: Client, orderId: string, n: string) => call('POST', `/v1/orders/${orderId}/shipments`, { carrier: 'sandbox', trackingNumber: `SBX-LATE-${n}` });

function expectLimit(r: Reply, setting: string, max: number) {
  expect(r.status, r.text).toBe(409);
  expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(r.json).toMatchObject({ type: 'https://orderworks.dev/problems/limit-reached', status: 409 });
  expect(r.json.detail).toContain(`at most ${max} `);
  expect(r.json.detail).toContain(`(${setting})`);
}

const count = async (sql: string, id: string) => (await db.rows<{ n: number }>(sql, [id]))[0]!.n;

describe('shipments per order', () => {
  it('never lets concurrent creations pass the cap, answers the next one 409 naming it, and still answers a replay', async () => {
    const order = await paidOrder(shop);
    const replies = await Promise.all(Array.from({ length: 25 }, (_, i) => ship(shop, order, `A${i}`)));
    const created = replies.filter((r) => r.status === 201);
    expect(created).toHaveLength(20);
    for (const r of replies.filter((x) => x.status !== 201)) expectLimit(r, 'SHIPMENTS_PER_ORDER_MAX', 20);
    expect(await count('SELECT count(*)::int AS n FROM shipments WHERE order_id = $1', order)).toBe(20);

    expectLimit(await ship(shop, order, 'A99'), 'SHIPMENTS_PER_ORDER_MAX', 20);
    // The same carrier and number again is the same shipment, at the cap too.
    const again = await ship(shop, order, created[0]!.json.trackingNumber.replace('SBX-LATE-', ''));
    expect([again.status, again.json.id]).toEqual([200, created[0]!.json.id]);
  });
});

describe('open shipments per shop', () => {
  it('counts a shop\'s open parcels exactly under concurrency, frees a place when one ends, and leaves other shops alone', async () => {
    const shopId = (await db.rows<{ shop_id: string }>("SELECT shop_id FROM shipments WHERE tracking_number = 'SBX-LATE-A0'"))[0]!.shop_id;
    const open = () => count('SELECT open_shipments AS n FROM shops WHERE id = $1', shopId);
    expect(await open()).toBe(20);
    const order = await paidOrder(shop);
    const replies = await Promise.all(Array.from({ length: 15 }, (_, i) => ship(shop, order, `B${i}`)));
    const created = replies.filter((r) => r.status === 201);
    expect(created).toHaveLength(OPEN_PER_SHOP - 20);
    for (const r of replies.filter((x) => x.status !== 201)) expectLimit(r, 'OPEN_SHIPMENTS_PER_SHOP_MAX', OPEN_PER_SHOP);
    expect(await open()).toBe(OPEN_PER_SHOP);
    expect(await count("SELECT count(*)::int AS n FROM shipments WHERE shop_id = $1 AND status NOT IN ('delivered', 'returned_to_sender')", shopId)).toBe(OPEN_PER_SHOP);

    const replay = await ship(shop, order, created[0]!.json.trackingNumber.replace('SBX-LATE-', ''));
    expect([replay.status, replay.json.id]).toEqual([200, created[0]!.json.id]);

    // A parcel that reaches a final state no longer counts.
    await db.rows(`UPDATE shipments SET status = 'delivered', delivered_at = now() WHERE id = $1`, [created[1]!.json.id]);
    expect(await open()).toBe(OPEN_PER_SHOP - 1);
    expect((await ship(shop, order, 'B98')).status).toBe(201);
    expectLimit(await ship(shop, order, 'B99'), 'OPEN_SHIPMENTS_PER_SHOP_MAX', OPEN_PER_SHOP);

    const other = (await createShop(sys.base, 'Other')).call;
    await other('PUT', '/v1/products/BOX', { name: 'Box', priceMinor: 100, currency: 'CNY', stock: 10 });
    expect((await ship(other, await paidOrder(other), 'C1')).status).toBe(201);
  });

  it('frees a place when an exception quiet for 14 days is given up, as the tracking tick does', async () => {
    const shopId = (await db.rows<{ shop_id: string }>("SELECT shop_id FROM shipments WHERE tracking_number = 'SBX-LATE-A0'"))[0]!.shop_id;
    const open = () => count('SELECT open_shipments AS n FROM shops WHERE id = $1', shopId);
    expect(await open()).toBe(OPEN_PER_SHOP);
    const order = await paidOrder(shop);
    expectLimit(await ship(shop, order, 'D1'), 'OPEN_SHIPMENTS_PER_SHOP_MAX', OPEN_PER_SHOP);
    // One parcel lost by its carrier, and no news of it since: still open, until it is given up.
    await db.rows(`UPDATE shipments SET status = 'exception', last_news_at = now() - interval '15 days' WHERE tracking_number = 'SBX-LATE-A1' AND shop_id = $1`, [shopId]);
    expect(await open()).toBe(OPEN_PER_SHOP);
    const shipments = createShipmentRepository(db, createEventOutbox(db));
    // The tick (every 15 minutes here) may give it up first; either way it ends given up once.
    for (let i = 0; (await open()) === OPEN_PER_SHOP && i < 20; i++) await shipments.giveUpExceptions(new Date(Date.now() - EXCEPTION_GIVE_UP_MS), 100);
    expect(await open()).toBe(OPEN_PER_SHOP - 1);
    expect(await shipments.giveUpExceptions(new Date(Date.now() - EXCEPTION_GIVE_UP_MS), 100)).toBe(0);
    const [row] = await db.rows<{ order_id: string }>("SELECT order_id FROM shipments WHERE tracking_number = 'SBX-LATE-A1'");
    const lost = (await shop('GET', `/v1/orders/${row!.order_id}`)).json.shipments.find((s: { trackingNumber: string }) => s.trackingNumber === 'SBX-LATE-A1');
    expect(lost).toMatchObject({ status: 'exception', trackingEndedAt: expect.any(String) });
    expect((await ship(shop, order, 'D2')).status).toBe(201);
    expectLimit(await ship(shop, order, 'D3'), 'OPEN_SHIPMENTS_PER_SHOP_MAX', OPEN_PER_SHOP);
  });
});
