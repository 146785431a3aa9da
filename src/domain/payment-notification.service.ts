import { PermanentError } from './errors.js';
import { orderIdOf, tradeNoOf, type PaymentMethod } from './order.js';
import { settlementMismatch } from './order-rules.js';
import type { RawNotification } from './payment-gateway.js';
import { captureRequest, settle, type PaymentDeps } from './payment.service.js';

/**
 * A provider's notification, as received on the route of `method`. The cheap checks come first (its shape,
 * and that the order it names exists and pays with this method), so a forgery costs no verification; then
 * the gateway verifies it. A capture it states for exactly the order's amount and currency is settled at
 * once; one that states anything else is not believed on its own: the provider's record is asked, and that
 * decides (a replay or a stale one changes nothing, an order already settled is answered as it is).
 */
export async function handleNotification(deps: PaymentDeps, method: PaymentMethod, raw: RawNotification) {
  const gateway = deps.gateways[method];
  const claim = await gateway.inspectNotification(raw);
  if (!claim.acts) return claim.reply;
  const claimed = claim.reference === undefined ? undefined : await notifiedOrder(deps, method, claim.reference);
  const { notification, reply } = await gateway.parseNotification(raw);
  if (claim.reference !== undefined && notification.reference !== claim.reference) throw rejected('its verified content names another order');
  if (notification.status === 'approved') {
    // Completing it is the capture job's: started now rather than at its next look.
    const ctx = claimed ?? (await notifiedOrder(deps, method, notification.reference));
    if (ctx.paymentStatus === 'action_required' && tradeNoOf(notification.reference) === ctx.tradeNo) await deps.jobs.capture(ctx);
    return reply;
  }
  if (notification.status !== 'captured') return reply;
  if (notification.amountMinor === undefined || !notification.currency) throw rejected('it states no amount and currency');
  if (!notification.providerReference) throw rejected('it names no provider reference');
  const ctx = claimed ?? (await notifiedOrder(deps, method, notification.reference));
  // A trade the buyer switched away from was closed at the provider before the switch: nothing can be paid on it.
  if (tradeNoOf(notification.reference) !== ctx.tradeNo) return reply;
  // Most notifications tell of a capture the job has already settled. A captured payment never goes back to
  // pending or failed, so this unlocked read is enough to answer them: no lock, no transaction.
  if (ctx.paymentStatus !== 'pending' && ctx.paymentStatus !== 'action_required' && ctx.paymentStatus !== 'failed') return reply;
  const stated = {
    status: 'captured' as const, providerReference: notification.providerReference, amountMinor: notification.amountMinor, currency: notification.currency,
    ...(notification.merchant ? { merchant: notification.merchant } : {}),
  };
  if (settlementMismatch(ctx, gateway.platformMerchant, stated)) {
    const found = await gateway.lookup(captureRequest(deps, ctx));
    if (found.status === 'captured') await settle(deps, ctx, found);
    return reply;
  }
  await settle(deps, ctx, stated);
  return reply;
}

const rejected = (why: string) => new PermanentError('provider_rejected', `notification refused: ${why}`);

/** The order a notification names, if it is ours and pays with the method whose route the notification came by. */
async function notifiedOrder(deps: PaymentDeps, method: PaymentMethod, reference: string) {
  // The notification names the order alone: it is found once across shops; what follows finds it by its shop.
  const ctx = reference ? await deps.payments.notifiedContext(orderIdOf(reference)) : null;
  if (!ctx) throw rejected('it names no order of ours');
  if (ctx.method !== method) throw rejected(`the order it names is not paid with ${method}`);
  return ctx;
}
