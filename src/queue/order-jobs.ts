import type { Job, Queue } from 'bullmq';
import { orderPlacementJob } from '../../jobs/order-placement.job.js';
import { paymentCaptureJob } from '../../jobs/payment-capture.job.js';
import { paymentRefundJob } from '../../jobs/payment-refund.job.js';
import { webhookDeliveryJob } from '../../jobs/webhook-delivery.job.js';
import type { OrderJob, OrderJobInspector, OrderWorkKeys } from '../domain/order-lookup.ports.js';
import type { Queues } from './queues.js';

/**
 * Every job an order may have, by the ids its job definitions build from business keys, with each one's state
 * as Redis holds it. A job that retention already removed is not listed.
 */
export function createOrderJobInspector(queues: Queues): OrderJobInspector {
  return {
    async jobsOf(keys: OrderWorkKeys) {
      const { orderId } = keys;
      const candidates: Array<[string, string]> = [
        [orderPlacementJob.queue, orderPlacementJob.jobId({ v: 1, orderId })],
        [paymentCaptureJob.queue, paymentCaptureJob.jobId({ v: 1, kind: 'capture', orderId })],
        [paymentCaptureJob.queue, paymentCaptureJob.jobId({ v: 1, kind: 'abandon', orderId, reason: 'payment_timeout' })],
        ...keys.refundIds.map((refundId): [string, string] => [paymentRefundJob.queue, paymentRefundJob.jobId({ v: 1, refundId })]),
        ...keys.eventSeqs.map((seq): [string, string] => [
          webhookDeliveryJob.queue,
          webhookDeliveryJob.jobId({ v: 1, kind: 'deliver', orderId, seq }),
        ]),
      ];
      const found = await Promise.all(candidates.map(async ([queue, id]) => {
        const job = await (queues as Readonly<Record<string, Queue | undefined>>)[queue]?.getJob(id);
        return job ? describe(queue, job) : null;
      }));
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
