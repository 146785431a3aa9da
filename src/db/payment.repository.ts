import type { Database, Transaction } from './database.js';
import { isUuid } from '../domain/ids.js';
import type { EventOutbox } from './event-outbox.js';
import { notFound } from '../domain/errors.js';
import { paymentEvent } from './payment-event.js';
import { ORDER, PAYMENT, REFUND, STOCK, type OrderStatus, type PaymentStatus, type StockState } from '../domain/order-lifecycle.js';
import { assertRefundFits, assertSameRequest, cancelDecision } from '../domain/order-rules.js';
import type { CaptureContext, PaymentStore, RefundView, SettleOutcome } from '../domain/payment-ports.js';
import type { Capture } from '../domain/payment-gateway.js';
import { createPaymentSwitches } from './payment-switch.repository.js';
import { createCaptureBatches, LOCK_IN_ORDER, MERCHANT_OF_O, type LockedOrder } from './payment-capture.batch.js';
import type { OrderRef } from '../domain/keys.js';
import { committedRefunds, insertRefund, refundWhatIsLeft, SYSTEM_KEY, toRefund, type RefundRow } from './refund-records.js';

/** An order's quantities per product. */
const ORDER_QUANTITIES = 'SELECT shop_id, product_id, sum(quantity)::int AS qty FROM order_items WHERE shop_id = $3 AND order_id = $1 GROUP BY shop_id, product_id';
/**
 * Gives an order's stock back, once: `reserved` stock (not yet paid) leaves `reserved`; `sold` stock only
 * returns to `stock`. The caller holds the order row lock and knows its current stock_state.
 */
async function releaseStock(db: Database, tx: Transaction, { shopId, orderId }: OrderRef, from: 'reserved' | 'sold') {
  await db.rows(
    `WITH q AS (${ORDER_QUANTITIES}), locked AS (${LOCK_IN_ORDER})
     UPDATE products p SET stock = p.stock + q.qty, reserved = p.reserved - CASE WHEN $2 = 'reserved' THEN q.qty ELSE 0 END,
            updated_at = now()
       FROM q WHERE p.shop_id = q.shop_id AND p.id = q.product_id AND p.id IN (SELECT id FROM locked)`,
    [orderId, from, shopId],
    tx,
  );
  await db.rows(`UPDATE orders SET stock_state = 'released' WHERE shop_id = $3 AND id = $1 AND stock_state = ANY($2::text[])`, [orderId, STOCK.fromStatesFor('released'), shopId], tx);
}

/**
 * Money arrived for an order that no longer wants it (cancelled or given up meanwhile): record it and give it
 * back in full. The caller holds the order's row lock.
 */
async function refundLateCapture(db: Database, tx: Transaction, o: LockedOrder, capture: Capture, why = `captured after the order became ${o.status}`): Promise<SettleOutcome> {
  await db.rows(
    `UPDATE orders SET payment_status = 'captured', provider_reference = $2, captured_minor = $3, payment_action = NULL, updated_at = now(),
            payment_events = payment_events || $5::jsonb
      WHERE shop_id = $6 AND id = $1 AND payment_status = ANY($4::text[])`,
    [o.id, capture.providerReference, capture.amountMinor, PAYMENT.fromStatesFor('captured'),
      paymentEvent('refunding', `${capture.amountMinor} ${capture.currency} arrived at the provider (${capture.providerReference}) and are refunded in full: ${why}`), o.shop_id],
    tx,
  );
  const key = SYSTEM_KEY('auto-refund', o.id);
  const refund = await insertRefund(db, tx, {
    orderId: o.id, shopId: o.shop_id, key, hash: 'auto', amountMinor: capture.amountMinor, currency: o.currency,
    reason: why,
  });
  const [existing] = refund ? [refund] : await db.rows<RefundRow>(`SELECT id FROM refunds WHERE shop_id = $1 AND idempotency_key = $2`, [o.shop_id, key], tx);
  return { outcome: 'refunding', refundId: existing!.id };
}

/** A payment that fails gives back stock that was only held, never stock that was sold. */
const RELEASE_HELD = 'reserved' satisfies StockState;

export function createPaymentRepository(db: Database, outbox: EventOutbox): PaymentStore {
  const batches = createCaptureBatches(db, outbox, (tx, o, capture) => refundLateCapture(db, tx, o, capture));

  /** Ends a `placed` order that waits for its payment `payment_failed` and gives its held stock back, once. */
  const failHeld = async (tx: Transaction, order: OrderRef, reason: string, detail: string | null, tradeNo?: number) => {
    const { shopId, orderId } = order;
    const [o] = await db.rows<{ shop_id: string }>(
      `UPDATE orders SET status = 'payment_failed', status_reason = $2, payment_status = 'failed', payment_action = NULL, updated_at = now(),
              payment_events = CASE WHEN $6::text IS NULL THEN payment_events ELSE payment_events || $7::jsonb END
        WHERE shop_id = $9 AND id = $1 AND status = ANY($3::text[]) AND payment_status = ANY($4::text[]) AND stock_state = $5
          AND ($8::int IS NULL OR payment_trade_no = $8) RETURNING shop_id`,
      [orderId, reason, ORDER.fromStatesFor('payment_failed'), PAYMENT.fromStatesFor('failed'), RELEASE_HELD, detail, paymentEvent(reason, detail), tradeNo ?? null, shopId],
      tx,
    );
    if (!o) return false;
    await outbox.record(tx, { orderId, shopId, type: ORDER.eventFor('placed', 'payment_failed')! });
    await releaseStock(db, tx, order, RELEASE_HELD);
    return true;
  };
  return {
    beginCapture: batches.beginCapture,

    captureContext: batches.captureContext,

    notifiedContext: batches.notifiedContext,

    settleCapture: batches.settleCapture,

    failPayment: (order, reason, detail, tradeNo) => db.transaction((tx) => failHeld(tx, order, reason, detail ?? null, tradeNo)),

    ...createPaymentSwitches(db),

    recordAction: ({ shopId, orderId }, answer, expiresAt, tradeNo) =>
      db.transaction(async (tx) => {
        const [o] = await db.rows<{ shop_id: string }>(
          `UPDATE orders SET payment_status = 'action_required', payment_action = $2::jsonb, payment_trade = $3, payment_expires_at = $7,
                  updated_at = now(),
                  payment_events = payment_events || $6::jsonb
            WHERE shop_id = $9 AND id = $1 AND status = ANY($4::text[]) AND payment_status = ANY($5::text[]) AND payment_trade_no = $8 RETURNING shop_id`,
          [orderId, JSON.stringify(answer.action), answer.trade ?? null, ORDER.statesNeeding('capture'), PAYMENT.fromStatesFor('action_required'),
            paymentEvent('action_required', `trade opened at the provider; the buyer pays through a ${answer.action.type} action`), expiresAt, tradeNo, shopId],
          tx,
        );
        if (!o) return false;
        await outbox.record(tx, { orderId, shopId: o.shop_id, type: PAYMENT.eventFor('pending', 'action_required')! });
        return true;
      }),

    refuseCapture: (order, capture, reason, detail) =>
      db.transaction(async (tx) => {
        await failHeld(tx, order, reason, detail);
        const [o] = await db.rows<LockedOrder>(
          `SELECT o.id, o.status, o.payment_status, o.shop_id, o.currency, false AS has_webhook FROM orders o WHERE o.shop_id = $2 AND o.id = $1 FOR UPDATE`,
          [order.orderId, order.shopId],
          tx,
        );
        if (!o) throw notFound('order');
        if (!PAYMENT.canTransition(o.payment_status, 'captured')) return { outcome: 'already_settled' as const };
        return refundLateCapture(db, tx, o, capture, detail);
      }),

    requestRefund: (r) =>
      db.transaction(async (tx) => {
        if (!isUuid(r.orderId)) throw notFound('order');
        const [o] = await db.rows<{ payment_status: PaymentStatus; captured_minor: number; currency: string }>(
          'SELECT payment_status, captured_minor, currency FROM orders WHERE id = $1 AND shop_id = $2 FOR UPDATE',
          [r.orderId, r.shopId],
          tx,
        );
        if (!o) throw notFound('order');
        const [prior] = await db.rows<RefundRow>(
          `SELECT id, order_id, amount_minor, currency, reason, status, created_at, request_hash FROM refunds WHERE shop_id = $1 AND idempotency_key = $2`,
          [r.shopId, r.idempotencyKey],
          tx,
        );
        if (prior) {
          assertSameRequest({ orderId: prior.order_id, requestHash: prior.request_hash }, r);
          return { refund: toRefund(prior), created: false };
        }
        const committedMinor = await committedRefunds(db, tx, r);
        assertRefundFits({ paymentStatus: o.payment_status, capturedMinor: o.captured_minor, committedMinor, amountMinor: r.amountMinor });
        const refund = await insertRefund(db, tx, {
          orderId: r.orderId, shopId: r.shopId, key: r.idempotencyKey, hash: r.requestHash, amountMinor: r.amountMinor,
          currency: o.currency, reason: r.reason ?? null,
        });
        return { refund: toRefund(refund!), created: true };
      }),

    async refundContext({ shopId, id: refundId }) {
      const [row] = await db.rows<{
        id: string; order_id: string; status: RefundView['status']; amount_minor: number; captured_minor: number; currency: string;
        payment_method: CaptureContext['method']; payment_token: string; provider_reference: string; payment_trade: string | null; merchant: string | null; payment_trade_no: number;
      }>(
        `SELECT r.id, r.order_id, r.status, r.amount_minor, o.captured_minor, r.currency, o.payment_method, o.payment_token, o.provider_reference,
                o.payment_trade, o.payment_trade_no, ${MERCHANT_OF_O}
           FROM refunds r JOIN orders o ON o.shop_id = r.shop_id AND o.id = r.order_id WHERE r.shop_id = $2 AND r.id = $1`,
        [refundId, shopId],
      );
      return row
        ? {
            refundId: row.id, orderId: row.order_id, status: row.status, amountMinor: row.amount_minor, capturedMinor: row.captured_minor,
            currency: row.currency, method: row.payment_method, token: row.payment_token, providerReference: row.provider_reference,
            trade: row.payment_trade, merchant: row.merchant, tradeNo: row.payment_trade_no,
          }
        : null;
    },

    completeRefund: ({ shopId, id: refundId }, outcome) =>
      db.transaction(async (tx) => {
        if (outcome.status === 'failed') {
          await db.rows(
            `UPDATE refunds SET status = 'failed', failure_reason = $2, updated_at = now() WHERE shop_id = $4 AND id = $1 AND status = ANY($3::text[])`,
            [refundId, outcome.reason, REFUND.fromStatesFor('failed'), shopId],
            tx,
          );
          return;
        }
        const [r] = await db.rows<{ order_id: string; amount_minor: number }>(
          `UPDATE refunds SET status = 'succeeded', provider_refund_id = $2, updated_at = now() WHERE shop_id = $4 AND id = $1 AND status = ANY($3::text[])
           RETURNING order_id, amount_minor`,
          [refundId, outcome.providerRefundId, REFUND.fromStatesFor('succeeded'), shopId],
          tx,
        );
        if (!r) return;
        const [o] = await db.rows<{ shop_id: string }>(
          `UPDATE orders SET refunded_minor = refunded_minor + $2,
                  payment_status = CASE WHEN refunded_minor + $2 >= captured_minor THEN 'refunded' ELSE 'partially_refunded' END,
                  status = CASE WHEN refunded_minor + $2 >= captured_minor AND status = ANY($3::text[]) THEN 'refunded' ELSE status END,
                  updated_at = now()
            WHERE shop_id = $4 AND id = $1 RETURNING shop_id`,
          [r.order_id, r.amount_minor, ORDER.fromStatesFor('refunded'), shopId],
          tx,
        );
        await outbox.record(tx, { orderId: r.order_id, shopId: o!.shop_id, type: REFUND.eventFor('pending', 'succeeded')! });
      }),

    cancel: (shopId, orderId) =>
      db.transaction(async (tx) => {
        if (!isUuid(orderId)) throw notFound('order');
        const [o] = await db.rows<{ status: OrderStatus; stock_state: StockState; payment_status: PaymentStatus; captured_minor: number; currency: string }>(
          'SELECT status, stock_state, payment_status, captured_minor, currency FROM orders WHERE id = $1 AND shop_id = $2 FOR UPDATE',
          [orderId, shopId],
          tx,
        );
        if (!o) throw notFound('order');
        if (cancelDecision(o.status) === 'already_cancelled') return { refundId: null };
        await db.rows(
          `UPDATE orders SET status = 'cancelled', status_reason = 'cancelled_by_shop', cancelled_at = now(), updated_at = now()
            WHERE shop_id = $3 AND id = $1 AND status = ANY($2::text[])`,
          [orderId, ORDER.fromStatesFor('cancelled'), shopId],
          tx,
        );
        await outbox.record(tx, { orderId, shopId, type: ORDER.eventFor(o.status, 'cancelled')! });
        const refundId = await refundWhatIsLeft(
          db, tx, { orderId, shopId, paymentStatus: o.payment_status, capturedMinor: o.captured_minor, currency: o.currency },
          { what: 'cancel', id: orderId, reason: 'order cancelled' },
        );
        // Shared product rows last: a hot SKU stays locked only for this statement and the commit.
        if (o.stock_state === 'reserved' || o.stock_state === 'sold') await releaseStock(db, tx, { shopId, orderId }, o.stock_state);
        return { refundId };
      }),

  };
}
