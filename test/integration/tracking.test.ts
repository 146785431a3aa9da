import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createShop, orderBody, waitForStatus, type Client } from '../support/client.js';
import { startSystem, type TestSystem } from '../support/system.js';
import { exited, sleep, spawnWorker } from '../support/processes.js';
import { createDatabase, type Database } from '../../src/db/database.js';

let sys: TestSystem;
let shop: Client;
let other: Client;
let db: Database;

beforeAll(async () => {
  sys = await startSystem({ env: { TRACKING_REFRESH_EVERY_MS: '300' } });
  shop = (await createShop(sys.base, 'Ships')).call;
  other = (await createShop(sys.base, 'Other')).call;
  await shop('PUT', '/v1/products/BOX', { name: 'Box', priceMinor: 100, currency: 'CNY', stock: 100 });
  db = createDatabase(sys.config.databaseUrl, { poolMax: 2 });
});
afterAll(async () => {
  await db?.close();
  await sys?.close();
});

async function paidOrder(key: string): Promise<string> {
  const r = await shop('POST', '/v1/orders', orderBody([{ sku: 'BOX', quantity: 1 }]), { 'idempotency-key': key });
  return (await waitForStatus(shop, r.json.id, ['paid'])).id;
}

describe('shipments and tracking with the sandbox carrier', () => {
  it('follows a parcel to delivered on its own, with its events and an estimate, then leaves it alone', async () => {
    const id = await paidOrder('ship-1');
    const created = await shop('POST', `/v1/orders/${id}/shipments`, { carrier: 'sandbox', trackingNumber: 'SBX-1001', fromCity: 'Hangzhou' });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ carrier: 'sandbox', trackingNumber: 'SBX-1001', status: 'info_received' });
    expect((await shop('GET', `/v1/orders/${id}`)).json.status).toBe('shipped');
    // The same shipment again is the same shipment.
    const again = await shop('POST', `/v1/orders/${id}/shipments`, { carrier: 'sandbox', trackingNumber: 'SBX-1001' });
    expect([again.status, again.json.id]).toEqual([200, created.json.id]);

    const o = await waitForStatus(shop, id, ['delivered'], 20_000);
    const [s] = o.shipments;
    expect(s).toMatchObject({ id: created.json.id, status: 'delivered' });
    expect(s.events.map((e: { status: string }) => e.status)).toEqual(['info_received', 'in_transit', 'out_for_delivery', 'delivered']);
    for (const e of s.events) expect(e).toMatchObject({ at: expect.any(String), description: expect.any(String) });
    expect(Date.parse(s.estimatedDeliveryAt)).toBeGreaterThan(Date.parse(s.events[0].at));
    expect(s.deliveredAt).toBe(s.events[3].at);

    const polledAt = async () => (await db.rows<{ last_polled_at: Date }>('SELECT last_polled_at FROM shipments WHERE id = $1', [s.id]))[0]!.last_polled_at.getTime();
    const before = await polledAt();
    await sleep(1_000);
    expect(await polledAt()).toBe(before);
    const later = (await shop('GET', `/v1/orders/${id}`)).json;
    expect(later.shipments[0].events).toHaveLength(4);
  });

  it('ends a lost parcel in exception and stops polling it', async () => {
    const id = await paidOrder('ship-2');
    expect((await shop('POST', `/v1/orders/${id}/shipments`, { carrier: 'sandbox', trackingNumber: 'SBX-LOST-7' })).status).toBe(201);
    const t0 = Date.now();
    let o: any;
    do {
      await sleep(200);
      o = (await shop('GET', `/v1/orders/${id}`)).json;
    } while (o.shipments[0].status !== 'exception' && Date.now() - t0 < 20_000);
    expect(o.status).toBe('shipped');
    expect(o.shipments[0].events.map((e: { status: string }) => e.status)).toEqual(['info_received', 'in_transit', 'exception']);
    const polledAt = async () => (await db.rows<{ last_polled_at: Date }>('SELECT last_polled_at FROM shipments WHERE id = $1', [o.shipments[0].id]))[0]!.last_polled_at.getTime();
    const before = await polledAt();
    await sleep(1_000);
    expect(await polledAt()).toBe(before);
    expect((await shop('GET', `/v1/orders/${id}`)).json.shipments[0].events).toHaveLength(3);
  });

  it('ships only paid orders of the shop itself, with carriers it knows', async () => {
    const id = await paidOrder('ship-3');
    const bad = await shop('POST', `/v1/orders/${id}/shipments`, { carrier: 'dhl', trackingNumber: 'X' });
    expect(bad.status).toBe(400);
    expect(bad.json.errors.map((e: { path: string }) => e.path).sort()).toEqual(['carrier', 'trackingNumber']);
    expect((await other('POST', `/v1/orders/${id}/shipments`, { carrier: 'sandbox', trackingNumber: 'SBX-9' })).status).toBe(404);
    const declined = await shop('POST', '/v1/orders', orderBody([{ sku: 'BOX', quantity: 1 }], { payment: { method: 'card', token: 'tok_decline' } }), { 'idempotency-key': 'ship-4' });
    await waitForStatus(shop, declined.json.id, ['payment_failed']);
    expect((await shop('POST', `/v1/orders/${declined.json.id}/shipments`, { carrier: 'sandbox', trackingNumber: 'SBX-10' })).status).toBe(409);
    // A shipped order can no longer be cancelled.
    await shop('POST', `/v1/orders/${id}/shipments`, { carrier: 'sandbox', trackingNumber: 'SBX-11' });
    expect((await shop('POST', `/v1/orders/${id}/cancel`)).status).toBe(409);
  });
});

describe('the tracking scheduler', () => {
  it('fires once per tick however many worker processes run', async () => {
    const two = await startSystem({ workers: false, env: { TRACKING_REFRESH_EVERY_MS: '400', WORKER_QUEUES: 'tracking-poll' } });
    const workers = [spawnWorker(two.env), spawnWorker(two.env)];
    try {
      const queue = two.web.queues['tracking-poll'];
      const count = async () => (await queue.getJobs(['completed'], 0, 1000)).filter((j) => (j.data as { kind?: string }).kind === 'fan-out').length;
      // Until the workers run (however long a busy machine takes to start them), nothing fires.
      while ((await count()) === 0) await sleep(50);
      const first = await count();
      const start = Date.now();
      await sleep(4_000);
      const ticks = (await count()) - first;
      const expected = (Date.now() - start) / 400;
      // Two processes firing each tick would double it. A busy machine runs ticks late, never early: the upper
      // bound is exact, the lower one only says that it keeps firing.
      expect(ticks).toBeGreaterThanOrEqual(2);
      expect(ticks).toBeLessThanOrEqual(Math.ceil(expected) + 1);
    } finally {
      for (const w of workers) w.kill('SIGTERM');
      await Promise.all(workers.map(exited));
      await two.close();
    }
  });
});
