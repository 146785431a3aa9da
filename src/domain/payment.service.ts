import { DomainError, PermanentError, TransientError } from './errors.js';
import { fingerprint } from './ids.js';
import type { CaptureRequest, PaymentGateway, RawNotification } from './payment-gateway.js';
import type { CaptureContext, PaymentJobs, PaymentStore, SettleOutcome } from './payment-ports.js';
import type { PaymentMethod } from './order.js';

export interface PaymentDeps {
  payments: PaymentStore;
  gateways: Record<PaymentMethod, PaymentGateway>;
  jobs: PaymentJobs;
}

const captureRequest = (c: CaptureContext): CaptureRequest => ({
  reference: c.orderId,
  amountMinor: c.amountMinor,
  currency: c.currency,
  token: c.token,
  description: `order ${c.orderId}`,
});

/**
 * The `payment-capture` job. Charges a placed order once: the provider's idempotency is keyed on the order
 * id, and any attempt after the first asks the provider what happened before charging (the previous one may
 * have charged and then timed out). A decline ends the order `payment_failed` and releases its stock; a
 * transient failure is thrown for the queue to retry with backoff.
 */
export async function capturePayment(deps: PaymentDeps, orderId: string): Promise<SettleOutcome | { outcome: 'skipped'; reason: string } | { outcome: 'declined' }> {
  const ctx = await deps.payments.beginCapture(orderId);
  if (!ctx) return { outcome: 'skipped', reason: NOT_WAITING };
  const gateway = deps.gateways[ctx.method];
  const req = captureRequest(ctx);
  if (ctx.attempts > 1) {
    const found = await gateway.lookup(req);
    if (found.status === 'captured') return settle(deps, orderId, found);
    if (found.status === 'pending') throw new TransientError('provider_unavailable', 'the provider still processes the previous attempt');
  }
  try {
    return await settle(deps, orderId, await gateway.capture(req));
  } catch (error) {
    if (error instanceof DomainError && error.permanent) {
      await deps.payments.failPayment(orderId, error.code === 'payment_declined' ? 'payment_declined' : 'payment_rejected');
      return { outcome: 'declined' };
    }
    throw error;
  }
}

/**
 * Gives up on an order's payment (its hold expired, or its capture ran out of attempts) without ever
 * failing an order that was in fact charged: the provider is asked first.
 */
export async function abandonPayment(deps: PaymentDeps, orderId: string, reason: string): Promise<SettleOutcome | { outcome: 'skipped'; reason: string } | { outcome: 'failed' }> {
  const ctx = await deps.payments.captureContext(orderId);
  if (!ctx || ctx.status !== 'placed' || ctx.paymentStatus !== 'pending') return { outcome: 'skipped', reason: NOT_WAITING };
  const found = ctx.attempts > 0 ? await deps.gateways[ctx.method].lookup(captureRequest(ctx)) : { status: 'not_found' as const };
  if (found.status === 'captured') return settle(deps, orderId, found);
  if (found.status === 'pending') throw new TransientError('provider_unavailable', 'the provider has not settled the payment yet');
  await deps.payments.failPayment(orderId, reason);
  return { outcome: 'failed' };
}

/** Why a capture or an abandon did nothing: a duplicate, or a retry of a payment already settled or given up. */
const NOT_WAITING = 'the order no longer waits for a payment (paid, failed, cancelled or not placed): nothing to charge; a new payment needs a new order';

/**
 * A capture that failed for good or used up its attempts gives up on the payment from inside its own job:
 * the provider is asked first (abandonPayment), so the order ends `payment_failed` only if nothing was
 * charged. If the provider cannot answer now, an `abandon` job takes over with attempts of its own.
 */
export async function giveUpCapture(deps: PaymentDeps, orderId: string) {
  try {
    return await abandonPayment(deps, orderId, 'payment_retries_exhausted');
  } catch {
    await deps.jobs.abandon(orderId, 'payment_retries_exhausted');
    return { outcome: 'abandon_queued' as const };
  }
}

/** Settles a capture however it arrived (the capture answer, a lookup, a provider notification). */
export async function settle(deps: PaymentDeps, orderId: string, capture: { providerReference: string; amountMinor: number }) {
  const outcome = await deps.payments.settleCapture(orderId, { status: 'captured', ...capture });
  if (outcome.outcome === 'refunding') await deps.jobs.refund(outcome.refundId);
  return outcome;
}

/** The `payment-refund` job: one refund, once at the provider (keyed on the refund id). */
export async function processRefund(deps: PaymentDeps, refundId: string) {
  const r = await deps.payments.refundContext(refundId);
  if (!r || r.status !== 'pending') return { outcome: 'skipped' as const };
  const outcome = await deps.gateways[r.method].refund({
    reference: r.orderId,
    refundId: r.refundId,
    amountMinor: r.amountMinor,
    capturedMinor: r.capturedMinor,
    currency: r.currency,
    providerReference: r.providerReference,
    token: r.token,
  });
  if (outcome.status === 'pending') throw new TransientError('provider_unavailable', 'the provider is still processing the refund');
  await deps.payments.completeRefund(refundId, outcome);
  return { outcome: outcome.status };
}

export async function requestRefund(
  deps: PaymentDeps,
  shopId: string,
  orderId: string,
  idempotencyKey: string,
  input: { amountMinor: number; reason?: string | undefined },
) {
  const { refund, created } = await deps.payments.requestRefund({ shopId, orderId, idempotencyKey, requestHash: fingerprint(input), ...input });
  if (created || refund.status === 'pending') await deps.jobs.refund(refund.id);
  return refund;
}

export async function cancelOrder(deps: PaymentDeps, shopId: string, orderId: string) {
  const { refundId } = await deps.payments.cancel(shopId, orderId);
  if (refundId) await deps.jobs.refund(refundId);
}

/**
 * A provider's notification, as received on the route of `method`. The cheap checks come first (its shape,
 * and that the order it names exists and pays with this method), so a forgery costs no verification; then
 * the gateway verifies it, and a capture is settled like any capture answer, with the amount and currency
 * the provider states.
 */
export async function handleNotification(deps: PaymentDeps, method: PaymentMethod, raw: RawNotification) {
  const gateway = deps.gateways[method];
  const claim = await gateway.inspectNotification(raw);
  if (!claim.acts) return claim.reply;
  const claimed = claim.reference === undefined ? undefined : await notifiedOrder(deps, method, claim.reference);
  const { notification, reply } = await gateway.parseNotification(raw);
  if (claim.reference !== undefined && notification.reference !== claim.reference) throw rejected('its verified content names another order');
  if (notification.status !== 'captured') return reply;
  if (notification.amountMinor === undefined || !notification.currency) throw rejected('it states no amount and currency');
  if (!notification.providerReference) throw rejected('it names no provider reference');
  const ctx = claimed ?? (await notifiedOrder(deps, method, notification.reference));
  if (notification.amountMinor !== ctx.amountMinor || notification.currency !== ctx.currency.toUpperCase()) {
    throw rejected('the notified amount does not match the order');
  }
  // Most notifications tell of a capture the job has already settled. A captured payment never goes back to
  // pending or failed, so this unlocked read is enough to answer them: no lock, no transaction.
  if (ctx.paymentStatus !== 'pending' && ctx.paymentStatus !== 'failed') return reply;
  await settle(deps, ctx.orderId, { providerReference: notification.providerReference, amountMinor: notification.amountMinor });
  return reply;
}

const rejected = (why: string) => new PermanentError('provider_rejected', `notification refused: ${why}`);

/** The order a notification names, if it is ours and pays with the method whose route the notification came by. */
async function notifiedOrder(deps: PaymentDeps, method: PaymentMethod, reference: string) {
  const ctx = reference ? await deps.payments.captureContext(reference) : null;
  if (!ctx) throw rejected('it names no order of ours');
  if (ctx.method !== method) throw rejected(`the order it names is not paid with ${method}`);
  return ctx;
}
