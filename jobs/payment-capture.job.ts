import { z } from 'zod';
import { RETENTION, type JobDefinition } from './job-definition.js';

/**
 * Charges a placed order (`capture`), or gives up on its payment after asking the provider (`abandon`: the
 * hold expired or the capture ran out of attempts). Ids and reasons only: never card data or tokens. `shopId` as in
 * order-placement.job.ts: absent from jobs queued before it, whose shop is looked up by the order id.
 */
const payload = z.discriminatedUnion('kind', [
  z.object({ v: z.literal(1).default(1), kind: z.literal('capture'), orderId: z.uuid(), shopId: z.uuid().optional() }),
  z.object({
    v: z.literal(1).default(1),
    kind: z.literal('abandon'),
    orderId: z.uuid(),
    shopId: z.uuid().optional(),
    reason: z.enum(['payment_timeout', 'payment_retries_exhausted']),
  }),
]);

export const paymentCaptureJob: JobDefinition<typeof payload, 'payment-capture'> = {
  queue: 'payment-capture',
  description:
    'Charges a placed order exactly once, or gives up on it after asking the provider (`abandon-`). FAILED (capture): the provider kept failing; the order is then given up as `payment_failed` (payment_retries_exhausted), so a later Retry only reports that the order no longer waits for a payment: the shop must submit a new order.',
  payload,
  jobId: (p) => `${p.kind}-${p.orderId}`,
  shardKey: (p) => p.orderId,
  name: (p) => (p.kind === 'capture' ? `charge order ${p.orderId} (or follow its buyer's trade)` : `give up the payment of order ${p.orderId} (${p.reason})`),
  // Sized for real provider outages: at a 30 s base, 8 attempts back off 30 s, 1, 2, 4, 8, 16, 32 min
  // (about an hour, with jitter). PAYMENT_RETRY_BASE_MS shrinks it for tests.
  options: (base) => ({ attempts: 8, backoff: { type: 'exponential', delay: base, jitter: 0.5 }, ...RETENTION }),
};
export type PaymentCapturePayload = z.output<typeof payload>;
