import type { z } from 'zod';
import type { JobDefinition } from '../../jobs/job-definition.js';
import { withTimeout } from '../timeout.js';
import type { QueueShards } from './queues.js';

/**
 * How long an enqueue may wait for Redis. Past it the caller moves on: the order is already durable in
 * Postgres and the reconciler enqueues it later; an add that lands late is harmless (same job id).
 */
const ENQUEUE_TIMEOUT_MS = 2_000;

/**
 * Adds a job as its definition says: validated payload, business-key job id, default options. `order` holds it
 * back (`delay`: a tick's paced poll batches) or behind the queue's other waiting jobs (`priority`, any
 * number: BullMQ takes jobs without one first). The job goes to the shard of its definition's shard key.
 */
export async function enqueue<S extends z.ZodType>(
  shards: QueueShards, def: JobDefinition<S>, data: z.input<S>, retryBaseDelayMs: number, order: { delay?: number; priority?: number } = {},
) {
  const payload = def.payload.parse(data);
  const add = shards.of(def, payload).add(def.name(payload), payload, { ...def.options(retryBaseDelayMs), jobId: def.jobId(payload), ...order });
  return withTimeout(add, ENQUEUE_TIMEOUT_MS, `enqueue to ${def.queue} timed out`);
}
