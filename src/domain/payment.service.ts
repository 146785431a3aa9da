import { DomainError, Postponed, TransientError } from './errors.js';
import { fingerprint } from './ids.js';
import { chargesAtOnce, merchantReference, type PaymentMethod } from './order.js';
import { awaitsPayment, settlementMismatch, tradeOpened } from './order-rules.js';
import type { Capture, CaptureRequest, PaymentGateway } from './payment-gateway.js';
import type { OrderRef, ShopRow } from './keys.js';
import type { CaptureContext, PaymentJobs, PaymentStore, SettleOutcome } from './payment-ports.js';

export interface PaymentDeps {
  payments: PaymentStore;
  gateways: Record<PaymentMethod, PaymentGateway>;
  jobs: PaymentJobs;
  /** How long a placed order holds its stock while it waits for its payment (HOLD_EXPIRES_MS). */
  holdExpiresMs: number;
}

type Outcome = SettleOutcome | { outcome: 'skipped'; reason: string } | { outcome: 'declined' } | { outcome: 'failed' };

/** The end of an order's stock hold: its trade must not be payable after it. */
const expiresAt = (deps: PaymentDeps, c: CaptureContext) => new Date((c.placedAt?.getTime() ?? Date.now()) + deps.holdExpiresMs);

export const captureRequest = (deps: PaymentDeps, c: CaptureContext): CaptureRequest => ({
  reference: merchantReference(c.orderId, c.tradeNo),
  amountMinor: c.amountMinor,
  currency: c.currency,
  flow: c.flow,
  token: c.token,
  description: `order ${c.orderId}`,
  trade: c.trade ?? undefined,
  payer: c.payer,
  returnUrl: c.returnUrl,
  expiresAt: expiresAt(deps, c),
  merchant: c.merchant ?? undefined,
});

/** How often a trade that waits for its buyer is asked about: soon at first, then less often, never past the hold. */
export function followDelayMs(sinceMs: number, untilExpiryMs: number): number {
  const delay = Math.min(Math.max(sinceMs / 10, 1_000), 30_000);
  return Math.max(250, Math.min(delay, untilExpiryMs + 250));
}

/**
 * The `payment-capture` job. A flow that charges at once (`barcode`, `token`) charges a placed order once:
 * the provider's idempotency is keyed on the order, and any attempt after the first asks the provider what
 * happened before charging again. A buyer-driven flow opens the trade and records its action; the same job
 * then follows the trade (Postponed, which uses no attempt) until the provider says it is paid or closed, or
 * the hold ends and it closes the trade there first. A decline ends the order `payment_failed` and releases
 * its stock; a transient failure is thrown for the queue to retry with backoff.
 */
export async function capturePayment(deps: PaymentDeps, order: OrderRef): Promise<Outcome> {
  const ctx = await deps.payments.beginCapture(order);
  if (!ctx) return { outcome: 'skipped', reason: NOT_WAITING };
  const gateway = deps.gateways[ctx.method];
  const req = captureRequest(deps, ctx);
  if (ctx.paymentStatus === 'action_required') return followTrade(deps, ctx, req);
  if (ctx.attempts > 1 && chargesAtOnce(ctx.flow)) {
    const found = await gateway.lookup(req);
    if (found.status === 'captured') return settle(deps, ctx, found);
    if (found.status === 'pending') throw new TransientError('provider_unavailable', 'the provider still processes the previous attempt');
  }
  try {
    const answer = await gateway.capture(req);
    if (answer.status === 'captured') return await settle(deps, ctx, answer);
    await deps.payments.recordAction(ctx, answer, req.expiresAt, ctx.tradeNo);
    throw new Postponed('the trade waits for the buyer', followDelayMs(0, req.expiresAt.getTime() - Date.now()));
  } catch (error) {
    if (error instanceof DomainError && error.permanent) {
      await deps.payments.failPayment(ctx, error.code === 'payment_declined' ? 'payment_declined' : 'payment_rejected', error.message, ctx.tradeNo);
      return { outcome: 'declined' };
    }
    throw error;
  }
}

/**
 * The first capture of a just-placed order, run by its placement job: one job per order instead of two when the
 * charge goes through at once. Whatever does not end here is handed to the order's capture job, which owns the
 * retries: a failure (its attempt counted in Postgres, so that job asks the provider before charging again),
 * after the queue's first retry delay; or a trade that waits for its buyer, followed from the delay it asked for.
 */
export async function captureAfterPlacement(deps: PaymentDeps, order: OrderRef): Promise<Outcome | { outcome: 'handed_over'; reason: string; queued: boolean }> {
  try {
    return await capturePayment(deps, order);
  } catch (error) {
    const queued = await deps.jobs.capture(order, error instanceof Postponed ? { delayMs: error.delayMs } : {});
    return { outcome: 'handed_over', reason: error instanceof Error ? error.message : String(error), queued };
  }
}

/** One look at a trade that waits for its buyer. */
async function followTrade(deps: PaymentDeps, ctx: CaptureContext, req: CaptureRequest): Promise<Outcome> {
  const found = await deps.gateways[ctx.method].lookup(req);
  if (found.status === 'captured') return settle(deps, ctx, found);
  const left = req.expiresAt.getTime() - Date.now();
  // The trade carries the hold's end as its own expiry, so a provider whose clock runs a little ahead closes it
  // before we look: a trade ended unpaid near the end of the hold timed out, one ended earlier was refused.
  if (left <= Math.min(60_000, deps.holdExpiresMs / 10)) return abandonPayment(deps, ctx, 'payment_timeout');
  if (found.status === 'failed') {
    // The provider ended the trade unpaid (the buyer's payment refused, 3-D Secure failed): nothing to wait for.
    await deps.payments.failPayment(ctx, 'payment_declined', found.reason, ctx.tradeNo);
    return { outcome: 'declined' };
  }
  throw new Postponed('the trade waits for the buyer', followDelayMs(Date.now() - (ctx.placedAt?.getTime() ?? Date.now()), left));
}

/**
 * Gives up on an order's payment (its hold expired, or its capture ran out of attempts) without ever
 * failing an order that was in fact charged: the trade is closed at the provider first (a closed trade can no
 * longer be paid), and the provider's answer says whether the buyer paid before.
 */
export async function abandonPayment(deps: PaymentDeps, order: OrderRef, reason: 'payment_timeout' | 'payment_retries_exhausted'): Promise<Outcome> {
  const ctx = await deps.payments.captureContext(order);
  if (!ctx || !awaitsPayment(ctx)) return { outcome: 'skipped', reason: NOT_WAITING };
  const opened = tradeOpened(ctx);
  const found = opened ? await deps.gateways[ctx.method].close(captureRequest(deps, ctx)) : { status: 'not_found' as const };
  if (found.status === 'captured') return settle(deps, ctx, found);
  if (found.status === 'pending') throw new TransientError('provider_unavailable', 'the provider has not settled the payment yet');
  await deps.payments.failPayment(ctx, reason, opened ? `the trade was closed at the provider (${found.status === 'failed' ? found.reason : 'no trade'})` : undefined, ctx.tradeNo);
  return { outcome: 'failed' };
}

/** Why a capture or an abandon did nothing: a duplicate, or a retry of a payment already settled or given up. */
const NOT_WAITING = 'the order no longer waits for a payment (paid, failed, cancelled or not placed): nothing to charge; a new payment needs a new order';

/**
 * A capture that failed for good or used up its attempts gives up on the payment from inside its own job:
 * the provider is asked first (abandonPayment), so the order ends `payment_failed` only if nothing was
 * charged. If the provider cannot answer now, an `abandon` job takes over with attempts of its own.
 */
export async function giveUpCapture(deps: PaymentDeps, order: OrderRef) {
  try {
    return await abandonPayment(deps, order, 'payment_retries_exhausted');
  } catch {
    await deps.jobs.abandon(order, 'payment_retries_exhausted');
    return { outcome: 'abandon_queued' as const };
  }
}

/**
 * Settles money the provider's record shows for this order, however it arrived (the capture answer, a lookup,
 * a provider notification). Only exactly the order's amount, currency and merchant account pays it; any other
 * money is refused: refunded in full and recorded in the order's payment events.
 */
export async function settle(deps: PaymentDeps, ctx: CaptureContext, capture: Capture): Promise<SettleOutcome> {
  const mismatch = settlementMismatch(ctx, deps.gateways[ctx.method].platformMerchant, capture);
  const outcome = mismatch
    ? await deps.payments.refuseCapture(ctx, capture, mismatch.reason, mismatch.detail)
    : await deps.payments.settleCapture(ctx, capture);
  if (outcome.outcome === 'refunding') await deps.jobs.refund({ shopId: ctx.shopId, id: outcome.refundId });
  return outcome;
}

/** The `payment-refund` job: one refund, once at the provider (keyed on the refund id). */
export async function processRefund(deps: PaymentDeps, refund: ShopRow) {
  const r = await deps.payments.refundContext(refund);
  if (!r || r.status !== 'pending') return { outcome: 'skipped' as const };
  const outcome = await deps.gateways[r.method].refund({
    reference: merchantReference(r.orderId, r.tradeNo),
    refundId: r.refundId,
    amountMinor: r.amountMinor,
    capturedMinor: r.capturedMinor,
    currency: r.currency,
    providerReference: r.providerReference,
    token: r.token,
    trade: r.trade ?? undefined,
    merchant: r.merchant ?? undefined,
  });
  if (outcome.status === 'pending') throw new TransientError('provider_unavailable', 'the provider is still processing the refund');
  await deps.payments.completeRefund(refund, outcome);
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
  if (created || refund.status === 'pending') await deps.jobs.refund({ shopId, id: refund.id });
  return refund;
}

export async function cancelOrder(deps: PaymentDeps, shopId: string, orderId: string) {
  const { refundId } = await deps.payments.cancel(shopId, orderId);
  if (refundId) await deps.jobs.refund({ shopId, id: refundId });
}
