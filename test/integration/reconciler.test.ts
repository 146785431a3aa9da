import { Queue, UnrecoverableError, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUEUE_NAMES } from '../../jobs/index.js';
import { orderPlacementJob } from '../../jobs/order-placement.job.js';
import { paymentCaptureJob } from '../../jobs/payment-capture.job.js';
import { webhookDeliveryJob } from '../../jobs/webhook-delivery.job.js';
import type { Database } from '../../src/db/database.js';
import { recordOrderEvent } from '../../src/db/event-outbox.js';
import { createReconcileRepository } from '../../src/db/reconcile.repository.js';
import { newOrderId } from '../../src/domain/ids.js';
import { reconcile, type ReconcilerDeps, type Stream } from '../../src/domain/reconciler.js';
import { createPublishers } from '../../src/queue/job-publisher.js';
import { queueShards, type Queues } from '../../src/queue/queues.js';
import { createReconcilerCursors } from '../../src/queue/reconciler-cursors.js';
import { createTestDatabase, REDIS_URL, testQueuePrefix } from '../support/db.js';
import { insertShop } from '../support/webhook-sink.js';

/** The reconciler against real Postgres and Redis: what it walks, what it asks, what it restarts. */

let testDb: Awaited<ReturnType<typeof createTestDatabase>>;
let db: Database;
let redis: Redis;
let queues: Queues;
let deps: ReconcilerDeps;
const queuePrefix = testQueuePrefix();
const prefix = `{${queuePrefix}}`;
const HOUR = 3_600_000;

beforeAll(async () => {
  testDb = await createTestDatabase();
  db = testDb.db;
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  queues = Object.fromEntries(QUEUE_NAMES.map((n) => [n, new Queue(n, { connection: redis, prefix })])) as unknown as Queues;
  const publishers = createPublishers(queueShards([queues]), { retryBaseDelayMs: 1_000, paymentRetryBaseMs: 1_000, webhookRetryBaseMs: 1_000 }, { latestPendingSeq: async () => null });
  deps = { ...publishers.reconciler, candidates: createReconcileRepository(db), cursors: createReconcilerCursors(redis, queuePrefix) };
});
afterAll(async () => {
  await Promise.all(Object.values(queues ?? {}).map((q) => q.obliterate({ force: true }).then(() => q.close())));
  await redis?.keys(`${prefix}:reconciler:*`).then((keys) => (keys.length ? redis.del(...keys) : 0));
  redis?.disconnect();
  await testDb?.drop();
});

/** An order in `status`, last touched `ageMs` ago (ids increase with `n`, as UUIDv7 ids do with time). */
async function order(shopId: string, status: 'received' | 'placed', ageMs: number, placedAgoMs = ageMs): Promise<string> {
  const id = newOrderId();
  await db.rows(
    `INSERT INTO orders (id, shop_id, idempotency_key, request_hash, status, currency, customer, shipping_address, payment_method, payment_token,
                         updated_at, placed_at)
     VALUES ($1, $2, $6, 'h', $3, 'CNY', '{"name":"Li Lei"}', '{"city":"Shanghai"}', 'card', 'tok_ok', now() - $4 * interval '1 ms',
             CASE WHEN $3 = 'placed' THEN now() - $5 * interval '1 ms' END)`,
    [id, shopId, status, ageMs, placedAgoMs, `key-${id}`],
  );
  return id;
}

const tick = (streams: Stream[], extra: { pageSize?: number; budget?: number } = {}) =>
  reconcile(deps, { staleAfterMs: 60_000, holdExpiresMs: 30 * 60_000, streams, ...extra });

describe('the reconciler against Postgres and Redis', () => {
  it('walks stale received orders with a cursor, a page of job states at a time, and restarts only the lost placements', async () => {
    const shop = await insertShop(db, null);
    const ids: string[] = [];
    for (let i = 0; i < 25; i++) ids.push(await order(shop.id, 'received', HOUR - i * 1_000));
    // A backlog: the 20 oldest still have their placement job waiting; Redis lost the 5 newest.
    for (const orderId of ids.slice(0, 20)) await queues['order-placement'].add('order-placement', { v: 1, orderId }, { jobId: orderPlacementJob.jobId({ v: 1, orderId }) });

    const ticks = [];
    for (let t = 0; t < 4; t++) ticks.push(await tick(['placement'], { pageSize: 10, budget: 10 }));
    expect(ticks.map((r) => [r.checked, r.restarted.place])).toEqual([[10, 0], [10, 0], [5, 5], [10, 0]]);
    for (const orderId of ids.slice(20)) expect(await queues['order-placement'].getJobState(orderPlacementJob.jobId({ v: 1, orderId }))).toBe('waiting');
  });

  it('gives up on payments whose capture failed for good or whose hold expired, captures lost ones again, leaves waiting ones', async () => {
    const shop = await insertShop(db, null);
    const failed = await order(shop.id, 'placed', HOUR, 5 * 60_000);
    const expired = await order(shop.id, 'placed', HOUR);
    const lost = await order(shop.id, 'placed', HOUR, 5 * 60_000);
    const waiting = await order(shop.id, 'placed', HOUR, 5 * 60_000);
    const capture = queues['payment-capture'];
    const add = (orderId: string) => capture.add('payment-capture', { v: 1, kind: 'capture', orderId }, { jobId: paymentCaptureJob.jobId({ v: 1, kind: 'capture', orderId }) });
    await add(failed);
    const worker = new Worker('payment-capture', async () => { throw new UnrecoverableError('declined by a test'); }, { connection: redis.duplicate(), prefix });
    await new Promise<void>((resolve) => worker.on('failed', () => resolve()));
    await worker.close();
    await add(waiting);

    const result = await tick(['capture']);
    expect(result.restarted).toMatchObject({ abandon: 2, capture: 1 });
    const jobOf = async (kind: 'capture' | 'abandon', orderId: string) => (await capture.getJob(paymentCaptureJob.jobId({ v: 1, kind, orderId, reason: 'payment_timeout' } as never)))?.data;
    expect(await jobOf('abandon', failed)).toMatchObject({ reason: 'payment_retries_exhausted' });
    expect(await jobOf('abandon', expired)).toMatchObject({ reason: 'payment_timeout' });
    expect(await capture.getJobState(paymentCaptureJob.jobId({ v: 1, kind: 'capture', orderId: lost }))).toBe('waiting');
    expect(await jobOf('abandon', waiting)).toBeUndefined();
  });

  it('restarts the delivery of events whose job is gone, not of those backing off, and does not count those', async () => {
    const shop = await insertShop(db, 'https://shop.example/hooks');
    const [backingOff, lost] = [await order(shop.id, 'placed', HOUR), await order(shop.id, 'placed', HOUR)];
    const seqs: number[] = [];
    for (const orderId of [backingOff, lost]) {
      const e = await db.transaction((tx) => recordOrderEvent(db, tx, { orderId, shopId: shop.id, type: 'order.placed' }));
      seqs.push(e!.seq);
    }
    await db.rows(`UPDATE order_events SET created_at = now() - interval '1 hour'`);
    const delivery = queues['webhook-delivery'];
    await delivery.add('webhook-delivery', { v: 1, kind: 'deliver', orderId: backingOff, seq: seqs[0] }, {
      jobId: webhookDeliveryJob.jobId({ v: 1, kind: 'deliver', orderId: backingOff, seq: seqs[0]! }), delay: HOUR,
    });

    const result = await tick(['delivery']);
    expect(result).toMatchObject({ checked: 2, notStarted: 0, restarted: { deliver: 1 } });
    expect(await delivery.getJobState(webhookDeliveryJob.jobId({ v: 1, kind: 'deliver', orderId: lost, seq: seqs[1]! }))).toBe('waiting');
    expect((await tick(['delivery'])).restarted.deliver).toBe(0);
  });
});
