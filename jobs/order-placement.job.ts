import { z } from 'zod';
import { RETENTION, type JobDefinition } from './job-definition.js';

/**
 * Prices an accepted order and reserves its stock. Version 1 payload; a later version must still accept
 * jobs queued before its deploy. `shopId`, the order's shop, is in every job queued since the hot tables are
 * keyed by shop; a job without it (queued before) has its shop looked up by the order id.
 */
const payload = z.object({ v: z.literal(1).default(1), orderId: z.uuid(), shopId: z.uuid().optional() });

export const orderPlacementJob: JobDefinition<typeof payload, 'order-placement'> = {
  queue: 'order-placement',
  description:
    'Prices a received order from the catalog and reserves its stock (or rejects it). FAILED: the database kept failing for all attempts; the order is still `received` and the reconciler re-enqueues it, so Retry is safe and runs the placement again.',
  payload,
  // One job per order: a duplicate enqueue of a job still in Redis is a no-op.
  jobId: (p) => `place-${p.orderId}`,
  shardKey: (p) => p.orderId,
  name: (p) => `place order ${p.orderId}: price it, reserve its stock`,
  // Transient faults here are database blips: ten tries with exponential backoff span about 17 minutes at a
  // one-second base; beyond that the reconciler takes over.
  options: (base) => ({ attempts: 10, backoff: { type: 'exponential', delay: base, jitter: 0.5 }, ...RETENTION }),
};
export type OrderPlacementPayload = z.output<typeof payload>;
