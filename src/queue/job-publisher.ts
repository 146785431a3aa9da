import type { Queue } from 'bullmq';
import type { z } from 'zod';
import type { JobDefinition } from '../../jobs/job-definition.js';
import { orderPlacementJob } from '../../jobs/order-placement.job.js';
import type { JobInspector, JobPublisher, JobState } from '../domain/ports.js';
import type { Queues } from './queues.js';

/**
 * How long an enqueue may wait for Redis. Past it the caller moves on: the order is already durable in
 * Postgres and the repair sweep enqueues it later; an add that lands late is harmless (same job id).
 */
const ENQUEUE_TIMEOUT_MS = 2_000;

/** Adds a job as its definition says: validated payload, business-key job id, default options. */
export async function enqueue<S extends z.ZodType>(queue: Queue, def: JobDefinition<S>, data: z.input<S>, retryBaseDelayMs: number) {
  const payload = def.payload.parse(data);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`enqueue to ${def.queue} timed out`)), ENQUEUE_TIMEOUT_MS);
  });
  try {
    return await Promise.race([queue.add(def.queue, payload, { ...def.options(retryBaseDelayMs), jobId: def.jobId(payload) }), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function createJobPublisher(queues: Queues, retryBaseDelayMs: number): JobPublisher & JobInspector {
  const placement = queues['order-placement'];
  const placementJobId = (orderId: string) => orderPlacementJob.jobId({ v: 1, orderId });
  const publish = {
    async placeOrder(orderId: string) {
      await enqueue(placement, orderPlacementJob, { orderId }, retryBaseDelayMs);
    },
  };
  return {
    ...publish,
    async placementState(orderId): Promise<JobState> {
      const job = await placement.getJob(placementJobId(orderId));
      if (!job) return 'missing';
      const state = await job.getState();
      if (state === 'failed') return 'failed';
      if (state === 'completed' || state === 'unknown') return 'done';
      return 'pending';
    },
    async requeuePlacement(orderId) {
      const job = await placement.getJob(placementJobId(orderId));
      const state = job ? await job.getState() : 'unknown';
      if (job && state === 'failed') return job.retry('failed');
      if (job && state === 'completed') await job.remove();
      await publish.placeOrder(orderId);
    },
  };
}
