import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TRACKING_SCHEDULER_ID } from '../../jobs/tracking-poll.job.js';
import { loadConfig } from '../../src/config.js';
import { createInfrastructure, type Infrastructure } from '../../src/runtime.js';
import { createWorkerProcess } from '../../workers/index.js';
import { createTestDatabase, REDIS_URL, testQueuePrefix } from '../support/db.js';

/*
 * Restarting the workers with a shorter TRACKING_REFRESH_EVERY_MS or SWEEP_EVERY_MS (the README's demo does:
 * 15 minutes down to 2 seconds) must bring the next run within the new interval, also after a tick that ran
 * late. BullMQ's upsert kept the old interval's offset, which put a late tick's successor minutes ahead.
 */
const LONG = 900_000;
const SHORT = 2_000;

let testDb: Awaited<ReturnType<typeof createTestDatabase>>;
const prefix = testQueuePrefix();
const open: Infrastructure[] = [];

beforeAll(async () => {
  testDb = await createTestDatabase();
});
afterAll(async () => {
  const last = open.at(-1);
  if (last) await Promise.all(Object.values(last.queues).map((q) => q.obliterate({ force: true }).catch(() => undefined)));
  for (const infra of open) await infra.close();
  await testDb?.drop();
});

async function runWorkers(everyMs: number) {
  const config = loadConfig({
    DATABASE_URL: testDb.url,
    REDIS_URL,
    QUEUE_PREFIX: prefix,
    ADMIN_USER: 'ops',
    ADMIN_PASSWORD: 'ops-secret-pw',
    SANDBOX: '1',
    LOG_LEVEL: 'silent',
    DB_POOL_MAX: '3',
    WORKER_QUEUES: 'tracking-poll,maintenance',
    TRACKING_REFRESH_EVERY_MS: String(everyMs),
    SWEEP_EVERY_MS: String(everyMs),
  });
  const infra = createInfrastructure(config, 'worker');
  open.push(infra);
  const workers = await createWorkerProcess(infra);
  await workers.start();
  return { queues: infra.queues, stop: () => workers.close() };
}

const schedulers = (queues: Infrastructure['queues']) =>
  Promise.all([queues['tracking-poll'].getJobScheduler(TRACKING_SCHEDULER_ID), queues.maintenance.getJobScheduler('repair-sweep')]);

describe('job schedulers after a change of interval', () => {
  it('a restart with a shorter interval runs next within it, also after a late tick', async () => {
    const first = await runWorkers(LONG);
    for (const s of await schedulers(first.queues)) expect(s?.every).toBe(LONG);
    await first.stop();

    const second = await runWorkers(SHORT);
    for (const s of await schedulers(second.queues)) {
      expect(s?.every).toBe(SHORT);
      expect(s?.offset ?? 0).toBeLessThan(SHORT);
      expect(s!.next!).toBeLessThanOrEqual(Date.now() + SHORT);
    }
    await second.stop();

    // Stopped for longer than an interval: the next tick runs late, and its successor is scheduled from it.
    await new Promise((r) => setTimeout(r, SHORT * 1.5));
    const restartedAt = Date.now();
    const third = await runWorkers(SHORT);
    for (const queue of [third.queues['tracking-poll'], third.queues.maintenance]) {
      await until(async () => (await queue.getJobs(['completed'])).some((j) => (j.finishedOn ?? 0) > restartedAt), `a ${queue.name} tick after the restart`);
    }
    for (const s of await schedulers(third.queues)) expect(s!.next! - Date.now(), `${s!.key}: next run in ms`).toBeLessThanOrEqual(SHORT);
    await third.stop();
  }, 120_000);
});

async function until(check: () => Promise<boolean>, what: string, withinMs = 60_000): Promise<void> {
  for (const t0 = Date.now(); Date.now() - t0 < withinMs; ) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no ${what} within ${withinMs} ms`);
}
