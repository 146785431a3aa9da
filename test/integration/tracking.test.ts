import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client, createShop, orderBody, waitForStatus, type Client } from '../support/client.js';
import { ADMIN, startSystem, type TestSystem } from '../support/system.js';
import { startSink } from '../support/webhook-sink.js';
import { exited, sleep, spawnWorker } from '../support/processes.js';
import { createDatabase, type Database } from '../../src/db/database.js';

let sys: TestSystem;
let shop: Client;
let other: Client;
let db: Database;
let sink: Awaited<ReturnType<typeof startSink>>;

beforeAll(async () => {
  sink = await startSink();
  sys = await startSystem({ env: { TRACKING_REFRESH_EVERY_MS: '300', WEBHOOK_ALLOW_PRIVATE_NETWORKS: '1', WEBHOOK_RETRY_BASE_MS: '50' } });
  shop = (await createShop(sys.base, 'Ships')).call;
  other = (await createShop(sys.base, 'Other')).call;
  await shop('PUT', '/v1/products/BOX', { name: 'Box', priceMinor: 100, currency: 'CNY', stock: 100 });
  db = createDatabase(sys.config.databaseUrl, { poolMax: 2 });
});
afterAll(async () => {
  await db?.close();
  await sys?.close();
  sink?.close();
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

  it('keeps an exception parcel in exception, asking its carrier less often', async () => {
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
    // An exception is due 4 refreshes after the tick that asked it (0.8 x 4 x 300 ms), a moving parcel after one (240 ms).
    const [row] = await db.rows<{ due: Date; polled: Date }>('SELECT next_poll_at AS due, last_polled_at AS polled FROM shipments WHERE id = $1', [o.shipments[0].id]);
    expect(row!.due.getTime() - row!.polled.getTime()).toBeGreaterThan(500);
    await sleep(1_000);
    const later = (await shop('GET', `/v1/orders/${id}`)).json.shipments[0];
    expect([later.status, later.events.length]).toEqual(['exception', 3]);
    // After 14 days without news it is given up: the shipment shows when, it no longer counts among the shop's
    // open parcels, and it is no longer asked about at all.
    const polledAt = async () => (await db.rows<{ last_polled_at: Date }>('SELECT last_polled_at FROM shipments WHERE id = $1', [later.id]))[0]!.last_polled_at.getTime();
    const open = async () => (await db.rows<{ n: number }>('SELECT open_shipments AS n FROM shops s JOIN shipments p ON p.shop_id = s.id WHERE p.id = $1', [later.id]))[0]!.n;
    const open0 = await open();
    expect(later.trackingEndedAt).toBeNull();
    await db.rows(`UPDATE shipments SET last_news_at = now() - interval '15 days', next_poll_at = now() WHERE id = $1`, [later.id]);
    const givenUp = await shipmentOf(shop, id, (x) => x.trackingEndedAt !== null);
    expect(givenUp).toMatchObject({ status: 'exception', trackingEndedAt: expect.any(String) });
    expect(await open()).toBe(open0 - 1);
    await sleep(600); // a poll already queued still runs
    const before = await polledAt();
    await sleep(1_200);
    expect(await polledAt()).toBe(before);
  });

  it('ships only paid orders of the shop itself, with carriers it knows', async () => {
    const id = await paidOrder('ship-3');
    const bad = await shop('POST', `/v1/orders/${id}/shipments`, { carrier: 'dhl', trackingNumber: 'X' });
    expect(bad.status).toBe(400);
    expect(bad.json.errors.map((e: { path: string }) => e.path).sort()).toEqual(['carrier', 'trackingNumber']);
    expect((await other('POST', `/v1/orders/${id}/shipments`, { carrier: 'sandbox', trackingNumber: 'SBX-9' })).status).toBe(404);
    // A carrier this deployment has no credentials for is refused now, naming what to set, not accepted and never tracked.
    for (const [carrier, settings] of [['sf', 'SF_PARTNER_ID and SF_CHECK_WORD'], ['kuaidi100', 'KUAIDI100_CUSTOMER and KUAIDI100_KEY'], ['zto', 'ZTO_APP_KEY and ZTO_APP_SECRET']]) {
      const refused = await shop('POST', `/v1/orders/${id}/shipments`, { carrier, trackingNumber: 'SF1234567890' });
      expect(refused.status, refused.text).toBe(409);
      expect(refused.json.detail).toBe(`carrier ${carrier} is not configured on this deployment: set ${settings}`);
    }
    expect((await shop('GET', `/v1/orders/${id}`)).json.shipments).toEqual([]);
    const declined = await shop('POST', '/v1/orders', orderBody([{ sku: 'BOX', quantity: 1 }], { payment: { method: 'card', token: 'tok_decline' } }), { 'idempotency-key': 'ship-4' });
    await waitForStatus(shop, declined.json.id, ['payment_failed']);
    expect((await shop('POST', `/v1/orders/${declined.json.id}/shipments`, { carrier: 'sandbox', trackingNumber: 'SBX-10' })).status).toBe(409);
    // Without KUAIDI100_PUSH_* there is no push tracking: its route is there, and answers 404.
    const push = await fetch(`${sys.base}/v1/carriers/kuaidi100/notify`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'param=%7B%7D&sign=X' });
    expect([push.status, push.headers.get('content-type')]).toEqual([404, expect.stringMatching(/^application\/problem\+json/)]);
    // A shipped order can no longer be cancelled.
    await shop('POST', `/v1/orders/${id}/shipments`, { carrier: 'sandbox', trackingNumber: 'SBX-11' });
    expect((await shop('POST', `/v1/orders/${id}/cancel`)).status).toBe(409);
  });
});

async function hookedShop(name: string) {
  const r = await client(sys.base, { basic: ADMIN })('POST', '/v1/admin/shops', { name, webhookUrl: sink.url });
  const call = client(sys.base, { bearer: r.json.apiKey });
  await call('PUT', '/v1/products/BOX', { name: 'Box', priceMinor: 100, currency: 'CNY', stock: 100 });
  return call;
}

async function shipmentOf(call: Client, orderId: string, until: (s: any) => boolean, ms = 20_000) {
  const t0 = Date.now();
  for (;;) {
    const s = (await call('GET', `/v1/orders/${orderId}`)).json.shipments[0];
    if (until(s) || Date.now() - t0 > ms) return s;
    await sleep(150);
  }
}

const hooksOf = (orderId: string) =>
  sink.hits.map((h) => JSON.parse(h.body)).filter((b) => b.data.order.id === orderId).map((b) => b.type as string);

describe('failed attempts, returns and delays (sandbox scripts)', () => {
  it('retries an SBX-RETRY- parcel after a failed attempt and delivers it', async () => {
    const id = await paidOrder('retry-1');
    await shop('POST', `/v1/orders/${id}/shipments`, { carrier: 'sandbox', trackingNumber: 'SBX-RETRY-1' });
    const o = await waitForStatus(shop, id, ['delivered'], 20_000);
    expect(o.shipments[0].events.map((e: { status: string }) => e.status)).toEqual([
      'info_received', 'in_transit', 'out_for_delivery', 'failed_attempt', 'out_for_delivery', 'delivered',
    ]);
    expect(o.shipments[0]).toMatchObject({ status: 'delivered', delayed: false, delayedSince: null });
  });

  it('ends an SBX-RETURN- parcel returned to its sender, and stops polling it', async () => {
    const id = await paidOrder('return-1');
    await shop('POST', `/v1/orders/${id}/shipments`, { carrier: 'sandbox', trackingNumber: 'SBX-RETURN-1' });
    const s = await shipmentOf(shop, id, (x) => x.status === 'returned_to_sender');
    expect(s.events.map((e: { status: string }) => e.status)).toEqual(['info_received', 'in_transit', 'out_for_delivery', 'failed_attempt', 'returned_to_sender']);
    expect((await shop('GET', `/v1/orders/${id}`)).json.status).toBe('shipped');
    const polledAt = async () => (await db.rows<{ last_polled_at: Date }>('SELECT last_polled_at FROM shipments WHERE id = $1', [s.id]))[0]!.last_polled_at.getTime();
    const before = await polledAt();
    await sleep(1_000);
    expect(await polledAt()).toBe(before);
  });

  it('estimates from the moment a shipment exists, flags an SBX-LATE- parcel once, lists it, and keeps it flagged', async () => {
    const call = await hookedShop('Late');
    const r = await call('POST', '/v1/orders', orderBody([{ sku: 'BOX', quantity: 1 }]), { 'idempotency-key': 'late-1' });
    const id = (await waitForStatus(call, r.json.id, ['paid'])).id;
    const t0 = Date.now();
    const created = await call('POST', `/v1/orders/${id}/shipments`, { carrier: 'sandbox', trackingNumber: 'SBX-LATE-1' });
    expect(created.status).toBe(201);
    // The sandbox carrier's service level (1 h), before any news.
    expect(Date.parse(created.json.estimatedDeliveryAt) - t0).toBeGreaterThan(3_000_000);
    expect(created.json).toMatchObject({ status: 'info_received', delayed: false, delayedSince: null });

    const late = await shipmentOf(call, id, (s) => s.delayed);
    expect(late).toMatchObject({ status: 'in_transit', delayed: true });
    // The carrier's own estimate (two refreshes after pickup) replaced the service level, and passed.
    expect(Date.parse(late.estimatedDeliveryAt)).toBeLessThan(Date.parse(created.json.estimatedDeliveryAt));
    expect(late.delayedSince).toBe(late.estimatedDeliveryAt);

    const list = await call('GET', '/v1/shipments?delayed=true&limit=10');
    expect(list.status).toBe(200);
    expect(list.json).toEqual({ data: [expect.objectContaining({ id: late.id, orderId: id, delayed: true, delayedSince: late.delayedSince })], nextCursor: null });
    expect((await shop('GET', '/v1/shipments?delayed=true')).json.data.map((s: { id: string }) => s.id)).not.toContain(late.id);
    expect((await call('GET', '/v1/shipments')).status).toBe(400);

    const t1 = Date.now();
    while (!hooksOf(id).includes('shipment.delayed') && Date.now() - t1 < 10_000) await sleep(100);
    await sleep(1_500);
    expect(hooksOf(id).filter((t) => t === 'shipment.delayed')).toHaveLength(1);
    const still = (await call('GET', `/v1/orders/${id}`)).json.shipments[0];
    expect(still).toMatchObject({ status: 'in_transit', delayed: true, delayedSince: late.delayedSince });

    const metrics = await client(sys.base, { basic: ADMIN })('GET', '/metrics');
    expect(Number(/^orderworks_shipments_delayed (\d+)$/m.exec(metrics.text)?.[1])).toBeGreaterThanOrEqual(1);
  });

  it('flags a parcel whose carrier has had no news for TRACKING_STALE_AFTER_MS (48 h), from then on', async () => {
    const id = await paidOrder('stale-1');
    const created = (await shop('POST', `/v1/orders/${id}/shipments`, { carrier: 'sandbox', trackingNumber: 'SBX-LOST-STALE' })).json;
    await shipmentOf(shop, id, (s) => s.status === 'exception');
    const quietSince = new Date(Date.now() - 50 * 3_600_000);
    await db.rows('UPDATE shipments SET last_news_at = $2 WHERE id = $1', [created.id, quietSince]);
    const s = await shipmentOf(shop, id, (x) => x.delayed);
    expect(s).toMatchObject({ status: 'exception', delayed: true, delayedSince: new Date(quietSince.getTime() + 48 * 3_600_000).toISOString() });
  });

  it('pages the late parcels oldest delay first', async () => {
    const call = await hookedShop('Pages');
    const ids: string[] = [];
    for (const n of [1, 2, 3]) {
      const r = await call('POST', '/v1/orders', orderBody([{ sku: 'BOX', quantity: 1 }]), { 'idempotency-key': `page-${n}` });
      const id = (await waitForStatus(call, r.json.id, ['paid'])).id;
      ids.push((await call('POST', `/v1/orders/${id}/shipments`, { carrier: 'sandbox', trackingNumber: `SBX-LATE-P${n}` })).json.id);
    }
    const t0 = Date.now();
    while ((await call('GET', '/v1/shipments?delayed=true')).json.data.length < 3 && Date.now() - t0 < 20_000) await sleep(200);
    const first = await call('GET', '/v1/shipments?delayed=true&limit=2');
    expect(first.json.data).toHaveLength(2);
    const second = await call('GET', `/v1/shipments?delayed=true&limit=2&cursor=${first.json.nextCursor}`);
    const all = [...first.json.data, ...second.json.data];
    expect(all.map((s: { id: string }) => s.id).sort()).toEqual([...ids].sort());
    const since = all.map((s: { delayedSince: string }) => Date.parse(s.delayedSince));
    expect(since).toEqual([...since].sort((a, b) => a - b));
    expect(second.json.nextCursor).toBeNull();
  });

  it('goes on past a parcel that stopped being late between pages, and refuses a cursor it never gave', async () => {
    const call = await hookedShop('PagesMoving');
    const ids: string[] = [];
    for (const n of [1, 2, 3]) {
      const r = await call('POST', '/v1/orders', orderBody([{ sku: 'BOX', quantity: 1 }]), { 'idempotency-key': `moving-${n}` });
      const id = (await waitForStatus(call, r.json.id, ['paid'])).id;
      ids.push((await call('POST', `/v1/orders/${id}/shipments`, { carrier: 'sandbox', trackingNumber: `SBX-LATE-M${n}` })).json.id);
    }
    const t0 = Date.now();
    while ((await call('GET', '/v1/shipments?delayed=true')).json.data.length < 3 && Date.now() - t0 < 20_000) await sleep(200);
    const all = (await call('GET', '/v1/shipments?delayed=true')).json.data.map((s: { id: string }) => s.id);
    expect([...all].sort()).toEqual([...ids].sort());
    // Late since times within one millisecond (as a delay for want of news is, counted from the news' time): the
    // list is ordered finer than the API's times, and its cursor follows that order.
    await db.rows(
      `UPDATE shipments SET delayed_since = timestamptz '2030-01-01 00:00:00.000001+00' + array_position($1::uuid[], id) * interval '1 microsecond'
        WHERE id = ANY($1::uuid[])`,
      [all],
    );

    const first = await call('GET', '/v1/shipments?delayed=true&limit=1');
    expect(first.json.data.map((s: { id: string }) => s.id)).toEqual([all[0]]);
    // Between the pages the first parcel's delay ends (news brought an estimate still ahead).
    await db.rows('UPDATE shipments SET delayed_since = NULL WHERE id = $1', [all[0]]);
    const second = await call('GET', `/v1/shipments?delayed=true&limit=1&cursor=${encodeURIComponent(first.json.nextCursor)}`);
    expect(second.status).toBe(200);
    expect(second.json.data.map((s: { id: string }) => s.id)).toEqual([all[1]]);
    const third = await call('GET', `/v1/shipments?delayed=true&limit=1&cursor=${encodeURIComponent(second.json.nextCursor)}`);
    expect(third.json).toEqual({ data: [expect.objectContaining({ id: all[2] })], nextCursor: null });

    // A cursor of another form, or altered, is not one this API gave: 400 naming it.
    const forged = Buffer.from(Buffer.from(second.json.nextCursor, 'base64url').toString().replace(/^\d/, 'x')).toString('base64url');
    for (const cursor of ['nonsense', forged, '%00', 'A'.repeat(300), Buffer.from('99999999999999999999.' + all[1]).toString('base64url')]) {
      const bad = await call('GET', `/v1/shipments?delayed=true&cursor=${encodeURIComponent(cursor)}`);
      expect([bad.status, bad.headers.get('content-type')], cursor).toEqual([400, expect.stringMatching(/^application\/problem\+json/)]);
      expect(bad.json.errors).toEqual([{ path: 'query.cursor', message: 'is not a cursor this API returned' }]);
    }
    // A cursor of the earlier form (the last parcel's id), held across an upgrade, still goes on after that parcel.
    expect((await call('GET', `/v1/shipments?delayed=true&cursor=${all[1]}`)).json).toEqual({ data: [expect.objectContaining({ id: all[2] })], nextCursor: null });
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
