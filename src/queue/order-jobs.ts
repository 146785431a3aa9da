import type { Job } from 'bullmq';
import type { z } from 'zod';
import type { JobDefinition } from '../../jobs/job-definition.js';
import { orderPlacementJob } from '../../jobs/order-placement.job.js';
import { paymentCaptureJob } from '../../jobs/payment-capture.job.js';
import { paymentRefundJob } from '../../jobs/payment-refund.job.js';
import { webhookDeliveryJob } from '../../jobs/webhook-delivery.job.js';
import type { OrderJob, OrderJobInspector, OrderWorkKeys } from '../domain/order-lookup.ports.js';
import type { QueueShards } from './queues.js';

/**
 * Every job an order may have, by the ids its job definitions build from business keys, with each one's state
 * as Redis holds it, each looked for on its shard. A job that retention already removed is not listed.
 */
export function createOrderJobInspector(shards: QueueShards): OrderJobInspector {
  const find = async <S extends z.ZodType>(def: JobDefinition<S>, payload: z.output<S>) => {
    const job = await shards.of(def, payload).getJob(def.jobId(payload));
    return job ? describe(def.queue, job) : null;
  };
  return {
    async jobsOf(keys: OrderWorkKeys) {
      const { orderId } = keys;
      const found = await Promise.all([
        find(orderPlacementJob, { v: 1, orderId }),
        find(paymentCaptureJob, { v: 1, kind: 'capture', orderId }),
        find(paymentCaptureJob, { v: 1, kind: 'abandon', orderId, reason: 'payment_timeout' }),
        ...keys.refundIds.map((refundId) => find(paymentRefundJob, { v: 1, refundId })),
        ...keys.eventSeqs.map((seq) => find(webhookDeliveryJob, { v: 1, kind: 'deliver', orderId, seq })),
      ]);
      return found.filter((j): j is OrderJob => j !== null);
    },
  };
}

async function describe(queue: string, job: Job): Promise<OrderJob> {
  return {
    queue,
    id: job.id ?? '',
    name: job.name,
    state: await job.getState(),
    attemptsMade: job.attemptsMade,
    lastError: job.failedReason || null,
    createdAt: job.timestamp ? new Date(job.timestamp) : null,
    finishedAt: job.finishedOn ? new Date(job.finishedOn) : null,
  };
}
