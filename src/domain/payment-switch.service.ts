import { conflict, notFound, TransientError } from './errors.js';
import { fingerprint } from './ids.js';
import { MAX_TRADES } from './order.js';
import type { PaymentInput } from './order-input.js';
import { awaitsPayment, tradeOpened } from './order-rules.js';
import { captureRequest, settle, type PaymentDeps } from './payment.service.js';

/**
 * `POST /v1/orders/{id}/payment`: the buyer picks another method while the order is `placed` and unpaid. The
 * current trade is closed at the provider first, so it can never be paid afterwards; if the buyer paid it
 * meanwhile, that payment settles the order and the switch is refused. Then the order starts a new trade.
 */
export async function switchPayment(deps: PaymentDeps, shopId: string, orderId: string, idempotencyKey: string, payment: PaymentInput) {
  const ctx = await deps.payments.captureContext({ shopId, orderId });
  if (!ctx || ctx.shopId !== shopId) throw notFound('order');
  const requestHash = fingerprint(payment);
  if (await deps.payments.switchDone(shopId, idempotencyKey, orderId, requestHash)) return;
  if (!awaitsPayment(ctx)) throw conflict('the order no longer waits for a payment (paid, failed or cancelled): nothing to switch');
  if (ctx.tradeNo + 1 >= MAX_TRADES) throw conflict(`an order may open at most ${MAX_TRADES} trades; place a new order`);
  if (tradeOpened(ctx)) {
    const found = await deps.gateways[ctx.method].close(captureRequest(deps, ctx));
    if (found.status === 'captured') {
      await settle(deps, ctx, found);
      throw conflict('the buyer paid the current trade before it could be closed: the order is settled by that payment');
    }
    if (found.status === 'pending') throw new TransientError('provider_unavailable', 'the provider could not close the current trade yet; try again');
  }
  const { switched } = await deps.payments.switchMethod({ shopId, orderId, idempotencyKey, requestHash, fromTradeNo: ctx.tradeNo, payment });
  if (switched) await deps.jobs.capture({ shopId, orderId });
}
