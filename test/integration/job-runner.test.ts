import { Queue, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { JobDefinition } from '../../jobs/job-definition.js';
import { Postponed, StoreUnavailable, TransientError } from '../../src/domain/errors.js';
import { createLogger } from '../../src/logger.js';
import { runner, type Handler, type RunnerOptions } from '../../workers/job-runner.js';
import { REDIS_URL, testQueuePrefix } from '../support/db.js';

/** The shared job runner on a real queue: waiting is not failing, and a job records its own given-up work. */

const prefix = `{${testQueuePrefix()}}`;
const payload = z.object({ v: z.literal(1).default(1), n: z.number() });
const def = (attempts: number): JobDefinition<typeof payload> => ({
  queue: 'runner-test',
  description: 'a test queue',
  name: (p) => `test job ${p.n}`,
  payload,
  jobId: (p) => `job-${p.n}`,
  options: () => ({ attempts, backoff: { type: 'exponential', delay: 10, jitter: 0 }, removeOnComplete: { age: 60, count: 100 }, removeOnFail: { age: 60, count: 100 } }),
});
let redis: Redis;
let queue: Queue;

beforeAll(() => {
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  queue = new Queue('runner-test', { connection: redis, prefix });
});
afterAll(async () => {
  await queue?.obliterate({ force: true });
  await queue?.close();
  redis?.disconnect();
});

/** Runs one job of `attempts` attempts through the runner until it completes or fails for good. */
async function run(n: number, attempts: number, handler: Handler<z.output<typeof payload>>, options?: RunnerOptions<z.output<typeof payload>>) {
  const d = def(attempts);
  const worker = new Worker('runner-test', runner(d, handler, createLogger('silent'), options), { connection: redis.duplicate(), prefix });
  try {
    const ended = new Promise<{ outcome: string; job: Job }>((resolve) => {
      worker.on('completed', (job) => job.id === `job-${n}` && resolve({ outcome: 'completed', job }));
      worker.on('failed', (job, err) => job?.id === `job-${n}` && job.attemptsMade >= attempts && resolve({ outcome: `failed: ${err.message}`, job }));
    });
    await queue.add('runner-test', { v: 1, n }, { ...d.options(10), jobId: `job-${n}` });
    return await ended;
  } finally {
    await worker.close();
  }
}

describe('the job runner', () => {
  it('puts a postponed job back without using an attempt: a one-attempt job waits twice and still completes', async () => {
    let calls = 0;
    const { outcome, job } = await run(1, 1, async () => {
      if (++calls <= 2) throw new Postponed('the lock is held elsewhere', 20);
      return 'done';
    });
    // Had each wait used an attempt, this one-attempt job would have failed at the first.
    expect(outcome).toBe('completed');
    expect(calls).toBe(3);
    expect(job.attemptsStarted).toBe(3);
  });

  it('a job that meets our own database down waits for it without using an attempt; a provider\'s outage does use one', async () => {
    let calls = 0;
    const waited = await run(3, 1, async () => {
      if (++calls <= 2) throw new StoreUnavailable('the database is unavailable');
      return 'done';
    });
    expect(waited.outcome).toBe('completed');
    expect(calls).toBe(3);
    const failed = await run(4, 1, async () => {
      throw new TransientError('provider_unavailable', 'alipay answered 503');
    });
    expect(failed.outcome).toBe('failed: alipay answered 503');
  });

  it('lets the job record its given-up work once, on its last failed attempt, not on the earlier ones', async () => {
    const givenUp: Array<{ n: number; attempt: number }> = [];
    const { outcome } = await run(2, 3, async () => { throw new TransientError('provider_unavailable', 'the provider is down'); }, {
      onGivenUp: async (p, ctx) => void givenUp.push({ n: p.n, attempt: ctx.attempt }),
    });
    expect(outcome).toBe('failed: the provider is down');
    expect(givenUp).toEqual([{ n: 2, attempt: 3 }]);
  });
});
