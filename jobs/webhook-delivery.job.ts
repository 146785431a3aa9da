import { z } from 'zod';
import { cappedBackoff, RETENTION, type JobDefinition } from './job-definition.js';

/**
 * Sends an order's pending webhook events, in order (`deliver`), or sends one event again on the shop's
 * request (`redeliver`). Ids only: the body lives in the outbox row.
 */
const payload = z.discriminatedUnion('kind', [
  // `seq`: the order's latest pending event when this was enqueued. It makes the job id, so a duplicate enqueue
  // of the same event is a no-op while a newer event gets a job of its own even if an older one just finished.
  // `shopId`: the order's shop; absent from jobs queued before it, whose shop is looked up by the order id.
  z.object({ v: z.literal(1).default(1), kind: z.literal('deliver'), orderId: z.uuid(), shopId: z.uuid().optional(), seq: z.number().int().positive() }),
  // `requestId`: each redelivery request is a new attempt.
  z.object({
    v: z.literal(1).default(1), kind: z.literal('redeliver'), orderId: z.uuid(), shopId: z.uuid().optional(), eventId: z.uuid(), requestId: z.uuid(),
  }),
]);

const JITTER = 0.5;

/** How long an event is retried before it is failed for good: at least 24 hours by contract. */
export const RETRY_HORIZON_MS = 24 * 3_600_000;

/**
 * Enough attempts that the shortest possible retry span (every wait at its jittered minimum) still covers the
 * retry horizon. Waits double from `base` up to an hour (`capped` backoff), then stay hourly: a shop whose
 * endpoint is down for a day is retried every 30 to 60 minutes, not once after a 40-hour gap. At a 10 s base:
 * 57 attempts over 24 to 48 hours. Once an event is older than the horizon, its next transient failure fails
 * it for good (the service).
 */
export function webhookAttempts(base: number, horizonMs = RETRY_HORIZON_MS): number {
  let span = 0;
  let retries = 0;
  while (span < horizonMs) span += cappedBackoff(++retries, base, JITTER, () => 1);
  return retries + 1;
}

export const webhookDeliveryJob: JobDefinition<typeof payload, 'webhook-delivery'> = {
  queue: 'webhook-delivery',
  description:
    "Delivers an order's events to its shop, in order, retrying for at least 24 hours. FAILED: the shop's endpoint refused or was unreachable for the whole window; Retry sends the pending events again (or use POST /v1/webhook-deliveries/{id}/redeliver).",
  payload,
  jobId: (p) => (p.kind === 'deliver' ? `webhook-${p.orderId}-${p.seq}` : `redeliver-${p.requestId}`),
  // By order, redeliveries too: one order's deliveries share a shard (their order is also kept by a per-order lock).
  shardKey: (p) => p.orderId,
  name: (p) => (p.kind === 'deliver' ? `tell the shop of order ${p.orderId}'s events up to #${p.seq}` : `send event ${p.eventId} of order ${p.orderId} to the shop again`),
  options: (base) => ({ attempts: webhookAttempts(base), backoff: { type: 'capped', delay: base, jitter: JITTER }, ...RETENTION }),
};
export type WebhookDeliveryPayload = z.output<typeof payload>;
