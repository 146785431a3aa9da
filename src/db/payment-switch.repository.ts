import { conflict, DomainError } from '../domain/errors.js';
import { ORDER, PAYMENT } from '../domain/order-lifecycle.js';
import type { PaymentStore } from '../domain/payment-ports.js';
import type { Database } from './database.js';
import { paymentEvent } from './payment-event.js';

/**
 * A buyer's switch of payment method (POST /v1/orders/{id}/payment), once per Idempotency-Key: the order goes
 * back to `pending` on its next trade; the previous trade was closed at the provider before this is called.
 */
export function createPaymentSwitches(db: Database): Pick<PaymentStore, 'switchDone' | 'switchMethod'> {
  return {
  async switchDone(shopId, idempotencyKey, orderId, requestHash) {
      const [used] = await db.rows<{ order_id: string; request_hash: string }>(
        'SELECT order_id, request_hash FROM payment_switches WHERE shop_id = $1 AND idempotency_key = $2', [shopId, idempotencyKey]);
      if (!used) return false;
      if (used.order_id !== orderId || used.request_hash !== requestHash) {
        throw new DomainError('idempotency_key_reused', 'this Idempotency-Key was already used with a different request');
      }
      return true;
    },

  switchMethod: (s) =>
      db.transaction(async (tx) => {
        const [prior] = await db.rows<{ order_id: string; request_hash: string }>(
          `INSERT INTO payment_switches (shop_id, idempotency_key, order_id, request_hash, trade_no) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (shop_id, idempotency_key) DO NOTHING RETURNING order_id, request_hash`,
          [s.shopId, s.idempotencyKey, s.orderId, s.requestHash, s.fromTradeNo + 1],
          tx,
        );
        if (!prior) {
          const [used] = await db.rows<{ order_id: string; request_hash: string }>(
            'SELECT order_id, request_hash FROM payment_switches WHERE shop_id = $1 AND idempotency_key = $2', [s.shopId, s.idempotencyKey], tx);
          if (used?.order_id !== s.orderId || used.request_hash !== s.requestHash) {
            throw new DomainError('idempotency_key_reused', 'this Idempotency-Key was already used with a different request');
          }
          return { switched: false, replay: true };
        }
        const p = s.payment;
        const checkout = p.payer || p.returnUrl ? JSON.stringify({ ...(p.payer ? { payer: p.payer } : {}), ...(p.returnUrl ? { returnUrl: p.returnUrl } : {}) }) : null;
        const [o] = await db.rows<{ id: string }>(
          `UPDATE orders SET payment_method = $3, payment_flow = $4, payment_token = $5, payment_checkout = $6::jsonb,
                  payment_status = 'pending', payment_action = NULL, payment_trade = NULL, payment_expires_at = NULL, payment_attempts = 0,
                  payment_trade_no = payment_trade_no + 1, updated_at = now(), payment_events = payment_events || $9::jsonb
            WHERE id = $1 AND shop_id = $2 AND status = ANY($7::text[]) AND payment_status = ANY($8::text[]) AND payment_trade_no = $10
            RETURNING id`,
          [s.orderId, s.shopId, p.method, p.flow, p.token, checkout, ORDER.statesNeeding('capture'), ['pending', ...PAYMENT.fromStatesFor('pending')],
            paymentEvent('method_switched', `the buyer switched to ${p.method} (${p.flow}); the previous trade was closed at the provider`), s.fromTradeNo],
          tx,
        );
        if (!o) throw conflict('the order no longer waits for a payment (paid, failed, cancelled, or switched meanwhile)');
        return { switched: true, replay: false };
      })
  };
}
