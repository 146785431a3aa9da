import { z } from 'zod';
import { RETENTION, type JobDefinition } from './job-definition.js';
import { RETRY_HORIZON_MS } from '../src/webhooks/webhook-delivery.service.js';

/**
 * Sends an order's pending webhook events, in order (`deliver`), or sends one event again on the shop's
 * request (`redeliver`). Ids only: the body lives in the outbox row.
 */
const payload = z.discriminatedUnion('kind', [
  // `seq`: the order's latest pending event when this was enqueued. It makes the job id, so a duplicate enqueue
  // of the same event is a no-op while a newer event gets a job of its own even if an older one just finished.
  z.object({ v: z.literal(1).default(1), kind: z.literal('deliver'), orderId: z.uuid(), seq: z.number().int().positive() }),
  // `requestId`: each redelivery request is a new attempt.
  z.object({ v: z.literal(1).default(1), kind: z.literal('redeliver'), orderId: z.uuid(), eventId: z.uuid(), requestId: z.uuid() }),
]);

const JITTER = 0.5;

/**
 * Enough attempts that the shortest possible retry span (every backoff at its jittered minimum,
 * (1 - JITTER) * base * 2^(k-1) for the k-th retry) still covers the retry horizon: R retries span at least
 * (1 - JITTER) * base * (2^R - 1). So the span is at least 24 h and less than twice that whatever the base;
 * the base only sets how dense the early retries are. At a 10 s base: 16 attempts, the retries 5-10 s apart
 * at first, doubling, the last one 45 to 91 hours after the first attempt. At the tests' 50 ms base: 23.
 * Once an event is older than the horizon, its next transient failure fails it for good (the service).
 */
export function webhookAttempts(base: number, horizonMs = RETRY_HORIZON_MS): number {
  const retries = Math.ceil(Math.log2(horizonMs / ((1 - JITTER) * base) + 1));
  return retries + 1;
}

export const webhookDeliveryJob: JobDefinition<typeof payload> = {
  queue: 'webhook-delivery',
  payload,
  jobId: (p) => (p.kind === 'deliver' ? `webhook-${p.orderId}-${p.seq}` : `redeliver-${p.requestId}`),
  options: (base) => ({ attempts: webhookAttempts(base), backoff: { type: 'exponential', delay: base, jitter: JITTER }, ...RETENTION }),
};
export type WebhookDeliveryPayload = z.output<typeof payload>;
