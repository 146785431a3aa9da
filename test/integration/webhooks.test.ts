import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Queue, Worker } from 'bullmq';
import express from 'express';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.js';
import { createOrderRepository } from '../../src/db/order.repository.js';
import { createEventOutbox, recordOrderEvent } from '../../src/db/event-outbox.js';
import { backoffStrategy } from '../../workers/backoff.js';
import { createShopRepository } from '../../src/db/shop.repository.js';
import { createWebhookRepository } from '../../src/db/webhook.repository.js';
import { requireShop } from '../../src/http/auth.js';
import { jsonBody } from '../../src/http/body.js';
import { errorHandler, notFoundHandler } from '../../src/http/problem.js';
import { webhooksRouter } from '../../src/http/routes/webhooks.routes.js';
import { orderView } from '../../src/http/views.js';
import { createLogger } from '../../src/logger.js';
import { webhookJobs } from '../../src/queue/webhook-publisher.js';
import { createPublishers } from '../../src/queue/job-publisher.js';
import { queueShards, type Queues } from '../../src/queue/queues.js';
import { createReconcileRepository } from '../../src/db/reconcile.repository.js';
import { reconcile } from '../../src/domain/reconciler.js';
import { QUEUE_NAMES } from '../../jobs/index.js';
import type { OrderEventType } from '../../src/webhooks/order-events.js';
import { createShopLookup } from '../../src/db/shop-lookup.repository.js';
import { deliverOrderEvents, LEASE_WAIT_MS, type WebhookDeliveryDeps } from '../../src/webhooks/webhook-delivery.service.js';
import { createWebhookSender } from '../../src/webhooks/webhook-sender.js';
import { webhookDeliveryProcessor } from '../../workers/webhook-delivery.worker.js';
import { createTestDatabase, REDIS_URL, testQueuePrefix } from '../support/db.js';
import { client } from '../support/client.js';
import { insertOrder, insertShop, startSink, verifyAsShop as verifyWebhook } from '../support/webhook-sink.js';

let sink: Awaited<ReturnType<typeof startSink>>;
let testDb: { db: Database; drop(): Promise<void> };
let db: Database;
const logger = createLogger('silent');
const prefix = `{${testQueuePrefix()}}`;
let redis: Redis;
let workerRedis: Redis;
let queue: Queue;
/** The one queue these tests enqueue to, as the publishers take it (one shard). */
const deliveryQueue = () => queueShards([{ 'webhook-delivery': queue } as unknown as Queues]);
let worker: Worker;
let api: { server: Server; base: string };
const store = () => createWebhookRepository(db);
const deps = (over: Partial<WebhookDeliveryDeps> & { allowPrivate?: boolean; timeoutMs?: number } = {}): WebhookDeliveryDeps => ({
  store: store(),
  sender: createWebhookSender({ allowPrivateNetworks: over.allowPrivate ?? true, timeoutMs: over.timeoutMs ?? 2_000 }),
  renderOrder: async (shopId, id) => {
    const o = await createOrderRepository(db, createEventOutbox(db)).get(shopId, id);
    return o && orderView(o);
  },
  ...over,
});

const newShop = async (webhookUrl: string | null) => {
  const shop = await insertShop(db, webhookUrl);
  return { ...shop, call: client(api.base, { bearer: shop.apiKey }) };
};
const newOrder = (shopId: string) => insertOrder(db, shopId);
/** One transaction per event, in sequence, as the order's state changes would record them. */
async function record(shopId: string, orderId: string, ...types: OrderEventType[]) {
  const ids: string[] = [];
  for (const type of types) {
    const e = await db.transaction((tx) => recordOrderEvent(db, tx, { orderId, shopId, type }));
    if (e) ids.push(e.id);
  }
  return ids;
}
const forOrder = (orderId: string, hits = sink.hits) => hits.filter((h) => JSON.parse(h.body).data.order.id === orderId);
const eventually = async (ok: () => Promise<boolean> | boolean, ms = 10_000) => {
  const t0 = Date.now();
  while (!(await ok())) {
    if (Date.now() - t0 > ms) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
};

beforeAll(async () => {
  testDb = await createTestDatabase();
  db = testDb.db;
  sink = await startSink();
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  workerRedis = redis.duplicate();
  queue = new Queue('webhook-delivery', { connection: redis, prefix });
  worker = new Worker('webhook-delivery', webhookDeliveryProcessor({ ...deps(), shops: createShopLookup(db), logger }), { connection: workerRedis, prefix, concurrency: 4, settings: { backoffStrategy } });
  const app = express();
  app.use('/v1', requireShop(createShopRepository(db)), jsonBody(100_000), webhooksRouter({ store: store(), jobs: webhookJobs(deliveryQueue(), 50, store()) }));
  app.use(notFoundHandler, errorHandler(logger));
  const server = createServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  api = { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
});
afterAll(async () => {
  await worker?.close();
  await queue?.obliterate({ force: true }).catch(() => undefined);
  await queue?.close();
  redis?.disconnect();
  workerRedis?.disconnect();
  api?.server.close();
  sink?.close();
  await testDb?.drop();
});

describe('webhook delivery', () => {
  it('sends the event signed with the shop secret, the body as a shop verifies it', async () => {
    const shop = await newShop(sink.url);
    const orderId = await newOrder(shop.id);
    const [eventId] = await record(shop.id, orderId, 'order.paid');
    expect(await deliverOrderEvents(deps(), { shopId: shop.id, orderId })).toEqual({ delivered: 1, failed: 0, skipped: 0 });
    const [hit] = forOrder(orderId);
    expect(hit!.headers['content-type']).toBe('application/json');
    const signature = hit!.headers['orderworks-signature'];
    expect(signature).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(verifyWebhook(shop.secret, hit!.body, signature)).toBe(true);
    expect(verifyWebhook(`${shop.secret}x`, hit!.body, signature)).toBe(false);
    const body = JSON.parse(hit!.body);
    const order = await createOrderRepository(db, createEventOutbox(db)).get(shop.id, orderId);
    expect(body).toEqual({ id: eventId, type: 'order.paid', createdAt: expect.any(String), data: { order: JSON.parse(JSON.stringify(orderView(order!))) } });
    // Delivered once: a second run finds nothing pending.
    expect(await deliverOrderEvents(deps(), { shopId: shop.id, orderId })).toEqual({ delivered: 0, failed: 0, skipped: 0 });
  });

  it('sends an order\'s events in order, and one delivery of an order at a time', async () => {
    const shop = await newShop(sink.url);
    const orderId = await newOrder(shop.id);
    const types: OrderEventType[] = ['order.placed', 'order.paid', 'order.shipped', 'shipment.updated', 'order.delivered'];
    const ids = await record(shop.id, orderId, ...types);
    sink.answer = () => 200;
    const runs = await Promise.allSettled([deliverOrderEvents(deps(), { shopId: shop.id, orderId }), deliverOrderEvents(deps(), { shopId: shop.id, orderId })]);
    expect(runs.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    // The other run waits (postponed, no attempt used up) rather than failing.
    expect(runs.find((r) => r.status === 'rejected')).toMatchObject({ reason: { name: 'Postponed', delayMs: LEASE_WAIT_MS } });
    expect(forOrder(orderId).map((h) => JSON.parse(h.body).id)).toEqual(ids);
  });

  it('retries a 500 through the queue until it succeeds, the later events waiting behind it', async () => {
    const shop = await newShop(sink.url);
    const orderId = await newOrder(shop.id);
    const [first, second] = await record(shop.id, orderId, 'order.placed', 'order.paid');
    let failures = 0;
    sink.answer = (hit) => (JSON.parse(hit.body).id === first && failures++ < 2 ? 500 : 200);
    await webhookJobs(deliveryQueue(), 50, store()).deliver({ shopId: shop.id, orderId });
    await eventually(() => forOrder(orderId).length === 4);
    const hits = forOrder(orderId);
    expect(hits.map((h) => JSON.parse(h.body).id)).toEqual([first, first, first, second]);
    expect(new Set(hits.slice(0, 3).map((h) => h.body)).size).toBe(1); // every retry sends the same bytes
    for (const h of hits) expect(verifyWebhook(shop.secret, h.body, h.headers['orderworks-signature'])).toBe(true);
    const log = await shop.call('GET', `/v1/webhook-deliveries?eventId=${first}`);
    expect(log.json.data.map((d: { attempt: number; statusCode: number; outcome: string }) => [d.attempt, d.statusCode, d.outcome])).toEqual([
      [3, 200, 'delivered'], [2, 500, 'retrying'], [1, 500, 'retrying'],
    ]);
  });

  it('does not retry a 400 (or a redirect), and does not let it block the next events', async () => {
    const shop = await newShop(sink.url);
    const orderId = await newOrder(shop.id);
    const [bad, redirected, good] = await record(shop.id, orderId, 'order.placed', 'order.paid', 'order.shipped');
    sink.answer = (hit) => ({ [bad!]: 400, [redirected!]: 302 })[JSON.parse(hit.body).id as string] ?? 200;
    expect(await deliverOrderEvents(deps(), { shopId: shop.id, orderId })).toEqual({ delivered: 1, failed: 2, skipped: 0 });
    expect(await deliverOrderEvents(deps(), { shopId: shop.id, orderId })).toEqual({ delivered: 0, failed: 0, skipped: 0 });
    expect(forOrder(orderId).map((h) => JSON.parse(h.body).id)).toEqual([bad, redirected, good]);
    const log = (await shop.call('GET', '/v1/webhook-deliveries')).json.data;
    expect(log.map((d: { eventId: string; outcome: string }) => [d.eventId, d.outcome])).toEqual([[good, 'delivered'], [redirected, 'failed'], [bad, 'failed']]);
    expect(log[1].error).toContain('redirect');
  });

  it('retries a timeout, then gives an event up once it is older than the retry horizon', async () => {
    const shop = await newShop(sink.url);
    const orderId = await newOrder(shop.id);
    const [eventId] = await record(shop.id, orderId, 'order.cancelled');
    sink.answer = () => null;
    await expect(deliverOrderEvents(deps({ timeoutMs: 300 }), { shopId: shop.id, orderId })).rejects.toMatchObject({ permanent: false });
    const [timedOut] = (await shop.call('GET', '/v1/webhook-deliveries')).json.data;
    expect(timedOut).toMatchObject({ eventId, outcome: 'retrying', statusCode: null, error: 'timeout after 300 ms' });
    expect(timedOut.durationMs).toBeGreaterThanOrEqual(290);
    sink.answer = () => 503;
    await expect(deliverOrderEvents(deps(), { shopId: shop.id, orderId })).rejects.toMatchObject({ permanent: false });
    expect(await deliverOrderEvents(deps({ retryHorizonMs: 0 }), { shopId: shop.id, orderId })).toEqual({ delivered: 0, failed: 1, skipped: 0 });
    expect(forOrder(orderId)).toHaveLength(3);
    sink.answer = () => 200;
  });

  it('records no events for a shop without a webhookUrl: nothing to deliver, nothing to pay for', async () => {
    const shop = await newShop(null);
    const orderId = await newOrder(shop.id);
    expect(await record(shop.id, orderId, 'order.placed', 'order.rejected')).toEqual([]);
    expect(await db.rows(`SELECT state FROM order_events WHERE order_id = $1`, [orderId])).toEqual([]);
    expect(await deliverOrderEvents(deps(), { shopId: shop.id, orderId })).toEqual({ delivered: 0, failed: 0, skipped: 0 });
  });

  it('refuses a URL that resolves to a private address unless private networks are allowed', async () => {
    const port = new URL(sink.url).port;
    for (const host of ['localhost', '127.0.0.1', '[::ffff:127.0.0.1]']) {
      const shop = await newShop(`http://${host}:${port}/hooks`);
      const orderId = await newOrder(shop.id);
      await record(shop.id, orderId, 'order.placed');
      expect(await deliverOrderEvents(deps({ allowPrivate: false }), { shopId: shop.id, orderId })).toEqual({ delivered: 0, failed: 1, skipped: 0 });
      expect(forOrder(orderId)).toHaveLength(0);
      const [entry] = (await shop.call('GET', '/v1/webhook-deliveries')).json.data;
      expect(entry).toMatchObject({ outcome: 'failed', statusCode: null, error: expect.stringMatching(/^refused: resolves to/) });
      await record(shop.id, orderId, 'order.paid');
      expect(await deliverOrderEvents(deps({ allowPrivate: true }), { shopId: shop.id, orderId })).toEqual({ delivered: 1, failed: 0, skipped: 0 });
      expect(forOrder(orderId)).toHaveLength(1);
    }
  });
});

describe('delivery log and redelivery', () => {
  it('lists a shop\'s attempts newest first with a cursor, and only its own', async () => {
    const shop = await newShop(sink.url);
    const orderId = await newOrder(shop.id);
    const ids = await record(shop.id, orderId, 'order.placed', 'order.paid', 'order.refunded');
    await deliverOrderEvents(deps(), { shopId: shop.id, orderId });
    const page1 = await shop.call('GET', '/v1/webhook-deliveries?limit=2');
    expect(page1.status).toBe(200);
    expect(page1.json.data.map((d: { eventId: string }) => d.eventId)).toEqual([ids[2], ids[1]]);
    expect(page1.json.data[0]).toEqual({
      id: expect.any(String), eventId: ids[2], eventType: 'order.refunded', orderId, url: sink.url, attempt: 1, statusCode: 200,
      error: null, durationMs: expect.any(Number), outcome: 'delivered', createdAt: expect.any(String),
    });
    const page2 = await shop.call('GET', `/v1/webhook-deliveries?limit=2&cursor=${page1.json.nextCursor}`);
    expect(page2.json).toMatchObject({ data: [{ eventId: ids[0] }], nextCursor: null });
    const other = await newShop(sink.url);
    expect((await other.call('GET', '/v1/webhook-deliveries')).json.data).toEqual([]);
    expect((await other.call('POST', `/v1/webhook-deliveries/${page1.json.data[0].id}/redeliver`)).status).toBe(404);
    expect((await shop.call('GET', '/v1/webhook-deliveries?limit=0')).status).toBe(400);
    expect((await shop.call('GET', '/v1/webhook-deliveries?cursor=nope')).json.errors[0].path).toBe('query.cursor');
    expect((await shop.call('POST', '/v1/webhook-deliveries/nope/redeliver')).status).toBe(404);
    expect((await client(api.base)('GET', '/v1/webhook-deliveries')).status).toBe(401);
  });

  it('redelivers an event, delivered or failed, as a new attempt through the queue', async () => {
    const shop = await newShop(sink.url);
    const orderId = await newOrder(shop.id);
    const [eventId] = await record(shop.id, orderId, 'order.paid');
    sink.answer = () => 410;
    await deliverOrderEvents(deps(), { shopId: shop.id, orderId });
    sink.answer = () => 200;
    const [failed] = (await shop.call('GET', '/v1/webhook-deliveries')).json.data;
    expect(failed).toMatchObject({ eventId, outcome: 'failed', statusCode: 410 });
    for (const n of [2, 3]) {
      const r = await shop.call('POST', `/v1/webhook-deliveries/${failed.id}/redeliver`);
      expect(r.status).toBe(202);
      expect(r.json).toEqual({ eventId, orderId, status: 'queued' });
      await eventually(() => forOrder(orderId).length === n);
    }
    const hits = forOrder(orderId);
    expect(new Set(hits.map((h) => h.body)).size).toBe(1);
    for (const h of hits) expect(verifyWebhook(shop.secret, h.body, h.headers['orderworks-signature'])).toBe(true);
    await eventually(async () => (await shop.call('GET', '/v1/webhook-deliveries')).json.data.length === 3);
    const log = (await shop.call('GET', '/v1/webhook-deliveries')).json.data;
    expect(log.map((d: { attempt: number; outcome: string }) => [d.attempt, d.outcome])).toEqual([[3, 'delivered'], [2, 'delivered'], [1, 'failed']]);
    expect(await db.rows('SELECT state FROM order_events WHERE id = $1', [eventId])).toEqual([{ state: 'delivered' }]);
  });
});

describe('publisher and reconciler', () => {
  it('enqueues one job per latest event, a new one after a newer event, and the reconciler finds lost enqueues', async () => {
    const shop = await newShop(sink.url);
    const orderId = await newOrder(shop.id);
    const jobs = webhookJobs(deliveryQueue(), 50, store());
    const others = QUEUE_NAMES.filter((n) => n !== 'webhook-delivery').map((n) => new Queue(n, { connection: redis, prefix }));
    const queues = Object.fromEntries([...others, queue].map((q) => [q.name, q])) as unknown as Queues;
    const publishers = createPublishers(queueShards([queues]), { retryBaseDelayMs: 50, paymentRetryBaseMs: 50, webhookRetryBaseMs: 50 }, store());
    const deliveries = { ...publishers.reconciler, candidates: createReconcileRepository(db), cursors: { get: async () => null, set: async () => {} } };
    const reconcileDeliveries = (staleAfterMs: number, now?: number) =>
      reconcile(deliveries, { staleAfterMs, holdExpiresMs: 60_000, streams: ['delivery'] }, now);
    try {
      await record(shop.id, orderId, 'order.placed');
      // The enqueue was lost: the event waits, pending, until the reconciler restarts its delivery.
      expect((await reconcileDeliveries(60_000)).restarted.deliver).toBe(0);
      const swept = await reconcileDeliveries(0, Date.now() + 1_000);
      expect(swept.restarted.deliver).toBeGreaterThanOrEqual(1); // other tests' pending events may be restarted too
      await eventually(() => forOrder(orderId).length === 1);
      await jobs.deliver({ shopId: shop.id, orderId }); // nothing pending any more: no job
      await record(shop.id, orderId, 'order.paid');
      await jobs.deliver({ shopId: shop.id, orderId });
      await eventually(() => forOrder(orderId).length === 2);
      const seqs = (await db.rows<{ seq: number }>('SELECT seq FROM order_events WHERE order_id = $1 ORDER BY seq', [orderId])).map((r) => r.seq);
      const jobIds = async () => (await queue.getJobs(['completed', 'waiting', 'active', 'delayed'])).map((j) => j.id).filter((id) => id?.includes(orderId)).sort();
      // The reconciler's job and the first deliver() were one job; the newer event got its own.
      expect(await jobIds()).toEqual(seqs.map((seq) => `webhook-${orderId}-${seq}`).sort());
      await jobs.deliver({ shopId: shop.id, orderId }); // nothing pending: nothing enqueued
      expect(await jobIds()).toHaveLength(2);
    } finally {
      await Promise.all(others.map((q) => q.close()));
    }
  });
});
