import { conflict } from '../domain/errors.js';
import { ORDER, PAYMENT } from '../domain/order-lifecycle.js';
import { assertSameRequest } from '../domain/order-rules.js';
import type { PaymentStore } from '../domain/payment-ports.js';
import type { Database, Transaction } from './database.js';
import { checkoutOf } from './order-intake.batch.js';
import { paymentEvent } from './payment-event.js';

/**
 * A buyer's switch of payment method (POST /v1/orders/{id}/payment), once per Idempotency-Key: the order goes
 * back to `pending` on its next trade; the previous trade was closed at the provider before this is called.
 */
export function createPaymentSwitches(db: Database): Pick<PaymentStore, 'switchDone' | 'switchMethod'> {
  /** Whether this key already switched this order with this request; throws when it was used for another. */
  const done = async (s: { shopId: string; idempotencyKey: string; orderId: string; requestHash: string }, tx?: Transaction) => {
    const [used] = await db.rows<{ order_id: string; request_hash: string }>(
      'SELECT order_id, request_hash FROM payment_switches WHERE shop_id = $1 AND idempotency_key = $2', [s.shopId, s.idempotencyKey], tx);
    if (!used) return false;
    assertSameRequest({ orderId: used.order_id, requestHash: used.request_hash }, s);
    return true;
  };

  return {
    switchDone: (shopId, idempotencyKey, orderId, requestHash) => done({ shopId, idempotencyKey, orderId, requestHash }),

    switchMethod: (s) =>
      db.transaction(async (tx) => {
        const [inserted] = await db.rows<{ order_id: string }>(
          `INSERT INTO payment_switches (shop_id, idempotency_key, order_id, request_hash, trade_no) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (shop_id, idempotency_key) DO NOTHING RETURNING order_id`,
          [s.shopId, s.idempotencyKey, s.orderId, s.requestHash, s.fromTradeNo + 1],
          tx,
        );
        // A request with the same key that committed meanwhile: the same switch (or a reused key, refused).
        if (!inserted && (await done(s, tx))) return { switched: false };
        const p = s.payment;
        const [o] = await db.rows<{ id: string }>(
          `UPDATE orders SET payment_method = $3, payment_flow = $4, payment_token = $5, payment_checkout = $6::jsonb,
                  payment_status = 'pending', payment_action = NULL, payment_trade = NULL, payment_expires_at = NULL, payment_attempts = 0,
                  payment_trade_no = payment_trade_no + 1, updated_at = now(), payment_events = payment_events || $9::jsonb
            WHERE id = $1 AND shop_id = $2 AND status = ANY($7::text[]) AND payment_status = ANY($8::text[]) AND payment_trade_no = $10
            RETURNING id`,
          [s.orderId, s.shopId, p.method, p.flow, p.token, checkoutOf(p), ORDER.statesNeeding('capture'), ['pending', ...PAYMENT.fromStatesFor('pending')],
            paymentEvent('method_switched', `the buyer switched to ${p.method} (${p.flow}); the previous trade was closed at the provider`), s.fromTradeNo],
          tx,
        );
        if (!o) throw conflict('the order no longer waits for a payment (paid, failed, cancelled, or switched meanwhile)');
        return { switched: true };
      }),
  };
}
