import { maintenanceJob } from './maintenance.job.js';
import { orderPlacementJob } from './order-placement.job.js';
import { paymentCaptureJob } from './payment-capture.job.js';
import { paymentRefundJob } from './payment-refund.job.js';
import { trackingPollJob } from './tracking-poll.job.js';
import { webhookDeliveryJob } from './webhook-delivery.job.js';

/**
 * Every queue there is, as its job definition. Queue names come from here alone: the config's WORKER_QUEUES,
 * the Queue objects and the worker process's processors are all keyed by them, so a queue added here without
 * a processor fails to type-check, and fails the worker's boot if one is left out anyway.
 */
export const JOB_DEFINITIONS = [
  orderPlacementJob,
  paymentCaptureJob,
  paymentRefundJob,
  trackingPollJob,
  webhookDeliveryJob,
  maintenanceJob,
] as const;

export type QueueName = (typeof JOB_DEFINITIONS)[number]['queue'];
export const QUEUE_NAMES: readonly QueueName[] = Object.freeze(JOB_DEFINITIONS.map((d) => d.queue));
