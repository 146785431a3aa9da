import { z } from 'zod';
import { RETENTION, type JobDefinition } from './job-definition.js';

/**
 * Sends one refund to the provider; the refund id is the provider's idempotency key for it. `shopId`, the refund's
 * shop, is absent from jobs queued before it: their shop is looked up by the refund id.
 */
const payload = z.object({ v: z.literal(1).default(1), refundId: z.uuid(), shopId: z.uuid().optional() });

export const paymentRefundJob: JobDefinition<typeof payload, 'payment-refund'> = {
  queue: 'payment-refund',
  description:
    'Refunds once at the provider (keyed on the refund id). FAILED: the provider kept failing; the refund is still `pending` and the reconciler re-enqueues it, so Retry is safe and asks the provider again.',
  payload,
  jobId: (p) => `refund-${p.refundId}`,
  // By the refund's own id: everything that looks a refund's job up (the reconciler, the admin lookup) has it.
  shardKey: (p) => p.refundId,
  name: (p) => `refund ${p.refundId} at the provider`,
  // Refunds are not urgent but must happen: 12 attempts span many hours at a 30 s base; the reconciler
  // re-enqueues a refund still pending after that.
  options: (base) => ({ attempts: 12, backoff: { type: 'exponential', delay: base, jitter: 0.5 }, ...RETENTION }),
};
export type PaymentRefundPayload = z.output<typeof payload>;
