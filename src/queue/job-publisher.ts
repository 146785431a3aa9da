import type { Queue } from 'bullmq';
import type { z } from 'zod';
import type { JobDefinition } from '../../jobs/job-definition.js';
import { orderPlacementJob } from '../../jobs/order-placement.job.js';
import type { JobInspector, JobPublisher, JobState } from '../domain/ports.js';
import type { Queues } from './queues.js';

/** Adds a job as its definition says: validated payload, business-key job id, default options. */
export function enqueue<S extends z.ZodType>(queue: Queue, def: JobDefinition<S>, data: z.input<S>, retryBaseDelayMs: number) {
  const payload = def.payload.parse(data);
  return queue.add(def.queue, payload, { ...def.options(retryBaseDelayMs), jobId: def.jobId(payload) });
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
