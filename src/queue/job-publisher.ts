import type { Queue } from 'bullmq';
import type { z } from 'zod';
import type { JobDefinition } from '../../jobs/job-definition.js';
import { orderPlacementJob } from '../../jobs/order-placement.job.js';
import { paymentCaptureJob } from '../../jobs/payment-capture.job.js';
import { paymentRefundJob } from '../../jobs/payment-refund.job.js';
import type { JobInspector, JobPublisher, JobState } from '../domain/ports.js';
import type { PaymentJobs } from '../domain/payment-ports.js';
import type { TrackingJobs } from '../domain/tracking-ports.js';
import { trackingPollJob } from '../../jobs/tracking-poll.job.js';
import type { WebhookStore } from '../webhooks/webhook-ports.js';
import { webhookJobs, type WebhookJobs } from './webhook-publisher.js';
import type { Queues } from './queues.js';
import { enqueue } from './enqueue.js';
import type { Logger } from '../logger.js';
import type { CarrierCode } from '../domain/carrier.js';

async function stateOf(queue: Queue, jobId: string): Promise<JobState> {
  const job = await queue.getJob(jobId);
  if (!job) return 'missing';
  const state = await job.getState();
  if (state === 'failed') return 'failed';
  if (state === 'completed' || state === 'unknown') return 'done';
  return 'pending';
}

/**
 * Puts a job back whatever is left of the old one: a failed job is retried in place; a finished one is
 * removed first (a job id still in Redis makes a new add a no-op).
 */
async function requeue<S extends z.ZodType>(queue: Queue, def: JobDefinition<S>, data: z.input<S>, base: number) {
  const job = await queue.getJob(def.jobId(def.payload.parse(data)));
  const state = job ? await job.getState() : 'unknown';
  if (job && state === 'failed') return job.retry('failed');
  if (job && state === 'completed') await job.remove();
  await enqueue(queue, def, data, base);
}

export interface Publishers {
  orders: JobPublisher & JobInspector;
  payments: PaymentJobs;
  tracking: TrackingJobs;
  webhooks: WebhookJobs;
}

/**
 * Work that follows a committed state change (a capture after placement, a refund, a first poll, a webhook
 * delivery) is a nudge: Postgres already holds what must happen, and the repair sweep starts it if the
 * enqueue fails. So a failed nudge is logged, never thrown into the request or job that made the change.
 */
const nudging =
  (logger: Logger | undefined) =>
  <A extends unknown[]>(what: string, fn: (...args: A) => Promise<unknown>) =>
  async (...args: A): Promise<void> => {
    try {
      await fn(...args);
    } catch (err) {
      logger?.warn({ err, what, args }, 'enqueue failed; the repair sweep will start this work');
    }
  };

export function createPublishers(
  queues: Queues,
  base: { retryBaseDelayMs: number; paymentRetryBaseMs: number; webhookRetryBaseMs: number },
  events: Pick<WebhookStore, 'latestPendingSeq'>,
  logger?: Logger,
): Publishers {
  const nudge = nudging(logger);
  const webhooks = webhookJobs(queues['webhook-delivery'], base.webhookRetryBaseMs, events);
  const placement = queues['order-placement'];
  const capture = queues['payment-capture'];
  const refund = queues['payment-refund'];
  const pay = base.paymentRetryBaseMs;
  return {
    orders: {
      placeOrder: async (orderId) => void (await enqueue(placement, orderPlacementJob, { orderId }, base.retryBaseDelayMs)),
      placementState: (orderId) => stateOf(placement, orderPlacementJob.jobId({ v: 1, orderId })),
      requeuePlacement: (orderId) => requeue(placement, orderPlacementJob, { orderId }, base.retryBaseDelayMs),
    },
    payments: {
      capture: nudge('capture', (orderId: string) => requeue(capture, paymentCaptureJob, { kind: 'capture', orderId }, pay)),
      abandon: nudge('abandon', (orderId: string, reason: 'payment_timeout' | 'payment_retries_exhausted') =>
        requeue(capture, paymentCaptureJob, { kind: 'abandon', orderId, reason }, pay)),
      refund: nudge('refund', (refundId: string) => requeue(refund, paymentRefundJob, { refundId }, pay)),
      async captureState(orderId) {
        const state = await stateOf(capture, paymentCaptureJob.jobId({ v: 1, kind: 'capture', orderId }));
        return state === 'pending' ? 'in_flight' : state === 'failed' ? 'failed' : 'none';
      },
      refundInFlight: async (refundId) => (await stateOf(refund, paymentRefundJob.jobId({ v: 1, refundId }))) === 'pending',
    },
    webhooks: { ...webhooks, deliver: nudge('webhook delivery', webhooks.deliver) },
    tracking: {
      // A lost poll is not repaired by the sweep but by the next tick once the shipment's claim runs out.
      poll: nudge('tracking poll', (carrier: CarrierCode, shipmentIds: string[]) =>
        enqueue(queues['tracking-poll'], trackingPollJob, { kind: 'poll', carrier, shipmentIds }, base.retryBaseDelayMs)),
    },
  };
}
