import { Queue, Worker, type Processor } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { superviseWorker } from '../../workers/worker-watchdog.js';
import { REDIS_URL, testQueuePrefix } from '../support/db.js';

const prefix = testQueuePrefix();
let connection: Redis;
const closers: Array<() => Promise<unknown>> = [];

beforeAll(() => {
  connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
});
afterAll(async () => {
  for (const close of closers.reverse()) await close().catch(() => undefined);
  const keys = await connection.keys(`${prefix}:*`);
  if (keys.length) await connection.del(...keys);
  connection.disconnect();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function queueNamed(name: string) {
  const queue = new Queue(name, { connection, prefix });
  closers.push(() => queue.close());
  return queue;
}

/** A worker as workers/index.ts makes it, watched; `stallMs` Infinity-like leaves it unwatched in practice. */
function watched(queue: Queue, stallMs: number, processor: Processor = async () => 'done') {
  const replaced: number[] = [];
  const made: Worker[] = [];
  const supervised = superviseWorker(
    (counted) => {
      const w = new Worker(queue.name, counted, { connection, prefix, concurrency: 2, autorun: false });
      w.on('error', () => undefined);
      made.push(w);
      return w;
    },
    processor,
    queue,
    2,
    { stallMs, checkEveryMs: 100, onReplaced: ({ waiting }) => replaced.push(waiting), onStopped: () => undefined },
  );
  closers.push(() => Promise.all(made.map((w) => w.close(true))));
  return { supervised, replaced, made };
}

/**
 * Stops a worker taking jobs while it still looks alive and says nothing: the symptom a Redis failover can leave
 * (a blocking connection wedged for good, bullmq#4138, #4585). That wedge cannot be made on demand, and BullMQ
 * heals the ones a test can make (a killed or closed blocking client); the watchdog judges by the symptom alone
 * (jobs wait, a slot is free, nothing starts), so a local pause stands in for it.
 */
async function wedge(worker: Worker) {
  await worker.waitUntilReady();
  await worker.pause(true);
}

async function until(done: () => Promise<boolean>, what: string, maxPolls = 600) {
  for (let i = 0; !(await done()); i++) {
    if (i > maxPolls) throw new Error(`gave up waiting: ${what}`);
    await sleep(50);
  }
}

describe('worker watchdog', () => {
  it('replaces a worker whose blocking connection wedged, so waiting jobs run; an unwatched twin stays stuck', async () => {
    const healed = queueNamed('watchdog-healed');
    const control = queueNamed('watchdog-control');
    const a = watched(healed, 500);
    const b = watched(control, 1e9);
    a.supervised.run();
    b.supervised.run();
    await wedge(a.supervised.current);
    await wedge(b.supervised.current);
    const first = a.supervised.current;

    await healed.addBulk(Array.from({ length: 5 }, (_, i) => ({ name: 'job', data: { i } })));
    await control.addBulk(Array.from({ length: 5 }, (_, i) => ({ name: 'job', data: { i } })));
    await until(async () => (await healed.getCompletedCount()) === 5, 'the healed queue ran its jobs');

    // A fetch already under way when the worker wedged may still take one job; the rest waited until the swap.
    expect(a.replaced).toHaveLength(1);
    expect(a.replaced[0]).toBeGreaterThanOrEqual(4);
    expect(a.supervised.current).not.toBe(first);
    // The twin, wedged the same way and unwatched, still has its jobs waiting: the wedge is real.
    expect(await control.getWaitingCount()).toBeGreaterThanOrEqual(4);
  });

  it('replaces a wedged worker whose queue holds only delayed jobs that have come due', async () => {
    const delayed = queueNamed('watchdog-delayed');
    const d = watched(delayed, 500);
    d.supervised.run();
    await wedge(d.supervised.current);
    // Due at once but delayed: only a worker that fetches moves them to waiting, and the wedged one never does.
    await delayed.addBulk(Array.from({ length: 3 }, (_, i) => ({ name: 'job', data: { i }, opts: { delay: 50 } })));
    await until(async () => (await delayed.getCompletedCount()) === 3, 'the delayed jobs ran');
    expect(d.replaced).toHaveLength(1);
  });

  it('leaves a busy healthy worker and a paused queue alone', async () => {
    const busy = queueNamed('watchdog-busy');
    // Each job takes a while, so jobs wait behind a full worker: that is queueing, not a stall.
    const w = watched(busy, 300, async () => sleep(40));
    w.supervised.run();
    await busy.addBulk(Array.from({ length: 60 }, (_, i) => ({ name: 'job', data: { i } })));
    await until(async () => (await busy.getCompletedCount()) === 60, 'the busy queue drained');
    expect(w.replaced).toEqual([]);

    const paused = queueNamed('watchdog-paused');
    const p = watched(paused, 300);
    p.supervised.run();
    await paused.pause();
    await paused.addBulk(Array.from({ length: 3 }, (_, i) => ({ name: 'job', data: { i } })));
    // Ten stall periods with jobs waiting on a paused queue: an operator's pause is not a stall.
    await sleep(3_000);
    expect(p.replaced).toEqual([]);
    await paused.resume();
    await until(async () => (await paused.getCompletedCount()) === 3, 'the resumed queue ran its jobs');
    expect(p.replaced).toEqual([]);
  });
});
