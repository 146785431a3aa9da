import type { z } from 'zod';
import { cappedBackoff, type JobDefinition } from '../../jobs/job-definition.js';
import { orderPlacementJob } from '../../jobs/order-placement.job.js';
import { paymentCaptureJob } from '../../jobs/payment-capture.job.js';
import { paymentRefundJob } from '../../jobs/payment-refund.job.js';
import { webhookDeliveryJob } from '../../jobs/webhook-delivery.job.js';
import type { JobPublisher } from '../domain/ports.js';
import type { PaymentJobs } from '../domain/payment-ports.js';
import type { ReconcilerDeps, JobState, Restart, Stream } from '../domain/reconciler.js';
import type { PollSlot, TrackingJobs } from '../domain/tracking-ports.js';
import { trackingPollJob } from '../../jobs/tracking-poll.job.js';
import type { WebhookStore } from '../webhooks/webhook-ports.js';
import { webhookJobs, type WebhookJobs } from './webhook-publisher.js';
import type { QueueShards } from './queues.js';
import { enqueue } from './enqueue.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { CarrierCode } from '../domain/carrier.js';
import type { OrderRef, ShopRow } from '../domain/keys.js';

/**
 * Puts a job back whatever is left of the old one: a failed job is retried in place; a finished one is
 * removed first (a job id still in Redis makes a new add a no-op). The job is looked for on its shard.
 */
async function requeue<S extends z.ZodType>(shards: QueueShards, def: JobDefinition<S>, data: z.input<S>, base: number, order: { delay?: number } = {}) {
  const payload = def.payload.parse(data);
  const job = await shards.of(def, payload).getJob(def.jobId(payload));
  const state = job ? await job.getState() : 'unknown';
  if (job && state === 'failed') return job.retry('failed');
  if (job && state === 'completed') await job.remove();
  // A capture following a trade waits delayed between its looks; new work for it (a switch of method) runs now.
  if (job && state === 'delayed') return job.promote();
  await enqueue(shards, def, data, base, order);
}

/** The wait before a job's first retry, as its backoff options give it (BullMQ's exponential: the base, jittered). */
const firstRetryDelay = (def: JobDefinition<z.ZodType>, base: number) => {
  const { delay, jitter } = def.options(base).backoff;
  return cappedBackoff(1, delay, jitter);
};

export interface Publishers {
  orders: JobPublisher;
  payments: PaymentJobs;
  tracking: TrackingJobs;
  webhooks: WebhookJobs;
  /** What the reconciler asks of the queues: its candidates' job states, a page at a time, and restarts. */
  reconciler: Pick<ReconcilerDeps, 'jobStates' | 'restart'>;
}

/**
 * Follow-up work starts one way. It follows a committed state change (a placement after the intake, a
 * capture after placement, a refund, a first poll, a webhook delivery), so Postgres already holds what must
 * happen: a start that Redis refuses is logged and counted, never thrown into the request or job that made
 * the change, and the reconciler starts that work later. Each start resolves to whether the job was queued.
 */
function followUps(logger: Logger | undefined, metrics: Pick<Metrics, 'followUps'> | undefined) {
  return <A extends unknown[]>(work: string, fn: (...args: A) => Promise<unknown>) =>
    async (...args: A): Promise<boolean> => {
      try {
        await fn(...args);
        metrics?.followUps.inc({ work, outcome: 'queued' });
        return true;
      } catch (err) {
        metrics?.followUps.inc({ work, outcome: 'failed' });
        logger?.warn({ err, work, args }, 'could not queue follow-up work; the reconciler will start it');
        return false;
      }
    };
}

/** BullMQ's job states as the reconciler reads them: waiting, delayed or running work is under way. */
const asJobState = (state: string): JobState =>
  state === 'unknown' ? 'missing' : state === 'failed' ? 'failed' : state === 'completed' ? 'done' : 'pending';

export function createPublishers(
  shards: QueueShards,
  base: { retryBaseDelayMs: number; paymentRetryBaseMs: number; webhookRetryBaseMs: number },
  events: Pick<WebhookStore, 'latestPendingSeq'>,
  logger?: Logger,
  metrics?: Pick<Metrics, 'followUps'>,
): Publishers {
  const start = followUps(logger, metrics);
  const webhooks = webhookJobs(shards, base.webhookRetryBaseMs, events);
  const pay = base.paymentRetryBaseMs;

  const payments: PaymentJobs = {
    capture: start('capture', ({ shopId, orderId }: OrderRef, later?: { delayMs?: number }) =>
      requeue(shards, paymentCaptureJob, { kind: 'capture', orderId, shopId }, pay, later ? { delay: later.delayMs ?? firstRetryDelay(paymentCaptureJob, pay) } : {})),
    abandon: start('abandon', ({ shopId, orderId }: OrderRef, reason: 'payment_timeout' | 'payment_retries_exhausted') =>
      requeue(shards, paymentCaptureJob, { kind: 'abandon', orderId, shopId, reason }, pay)),
    refund: start('refund', ({ shopId, id }: ShopRow) => requeue(shards, paymentRefundJob, { refundId: id, shopId }, pay)),
  };
  const replace = {
    place: start('place', ({ shopId, orderId }: OrderRef) => requeue(shards, orderPlacementJob, { orderId, shopId }, base.retryBaseDelayMs)),
    deliver: start('deliver', ({ shopId, orderId }: OrderRef, seq: number) =>
      requeue(shards, webhookDeliveryJob, { kind: 'deliver', orderId, shopId, seq }, base.webhookRetryBaseMs)),
  };
  // A candidate's job state, asked of the shard that holds its job.
  const stateOf = <S extends z.ZodType>(def: JobDefinition<S>, payload: z.output<S>) => shards.of(def, payload).getJobState(def.jobId(payload));
  const jobStateOf: Record<Stream, (c: { id: string; seq?: number }) => Promise<string>> = {
    placement: (c) => stateOf(orderPlacementJob, { v: 1, orderId: c.id }),
    // A placed order without a capture job may be charged by its placement job still (captureAfterPlacement):
    // while that job is under way, so is the capture.
    capture: async (c) => {
      const state = await stateOf(paymentCaptureJob, { v: 1, kind: 'capture', orderId: c.id });
      if (state !== 'unknown') return state;
      const placement = await stateOf(orderPlacementJob, { v: 1, orderId: c.id });
      return asJobState(placement) === 'pending' ? placement : state;
    },
    refund: (c) => stateOf(paymentRefundJob, { v: 1, refundId: c.id }),
    delivery: (c) => stateOf(webhookDeliveryJob, { v: 1, kind: 'deliver', orderId: c.id, seq: c.seq ?? 0 }),
  };

  return {
    orders: {
      placeOrder: start('place', ({ shopId, orderId }: OrderRef) => enqueue(shards, orderPlacementJob, { orderId, shopId }, base.retryBaseDelayMs)),
    },
    payments,
    webhooks: { ...webhooks, deliver: start('deliver', webhooks.deliver) },
    tracking: {
      // A lost poll is not restarted by the reconciler but by the next tick once the shipment's claim runs out.
      // A tick's batch waits for its slot; a new shipment's first poll goes behind every tick's batch and fan-out
      // already waiting (a burst of new shipments cannot hold up the parcels a tick claimed).
      poll: start('poll', (carrier: CarrierCode, shipments: ShopRow[], slot?: PollSlot) =>
        enqueue(
          shards, trackingPollJob,
          { kind: 'poll', carrier, shipmentIds: shipments.map((s) => s.id), shopIds: shipments.map((s) => s.shopId), until: slot?.until.getTime() },
          base.retryBaseDelayMs,
          slot ? (slot.delayMs > 0 ? { delay: slot.delayMs } : {}) : { priority: 1 },
        )),
      refund: payments.refund,
    },
    reconciler: {
      // One script call per job, all sent at once (one connection per master): a page costs about one round trip.
      async jobStates(stream, candidates) {
        return (await Promise.all(candidates.map(jobStateOf[stream]))).map(asJobState);
      },
      restart(r: Restart) {
        switch (r.work) {
          case 'place': return replace.place(r);
          case 'capture': return payments.capture(r);
          case 'abandon': return payments.abandon(r, r.reason);
          case 'refund': return payments.refund({ shopId: r.shopId, id: r.refundId });
          case 'deliver': return replace.deliver(r, r.seq);
        }
      },
    },
  };
}
