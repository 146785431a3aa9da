import { randomUUID } from 'node:crypto';
import type { Database, Transaction } from './database.js';
import type { EventOutbox } from './event-outbox.js';
import { conflict, notFound } from '../domain/errors.js';
import { isUuid } from '../domain/ids.js';
import { RETURN, type OrderStatus, type PaymentStatus } from '../domain/order-lifecycle.js';
import { assertMayReturn, assertSameRequest, assertUnderLimit, returnLines, type SoldLine } from '../domain/order-rules.js';
import type { ReturnStore } from '../domain/return-ports.js';
import { LOCK_IN_ORDER } from './payment-capture.batch.js';
import { refundWhatIsLeft } from './refund-records.js';
import { adoptCancelledParcel, insertShipment } from './shipment-rows.js';
import type { ShopRow } from '../domain/keys.js';
import { loadReturn } from './return-rows.js';

/**
 * Receives a requested return, once: `received`, its lines' value refunded (capped at what is left of the
 * capture, through the refunds table and the `payment-refund` job) and, when it asked for it, its stock back.
 * The caller holds the order's row lock (taken before any return or product row, as everywhere). Returns the
 * refund to start after the commit, or null (already received, or nothing left to refund).
 */
export async function receiveReturnIn(db: Database, outbox: EventOutbox, tx: Transaction, { shopId, id: returnId }: ShopRow, by: 'parcel' | 'shop') {
  const [r] = await db.rows<{ order_id: string; shop_id: string; amount_minor: number; currency: string; restock: boolean; reason: string }>(
    `UPDATE returns SET status = 'received', received_by = $2, received_at = now(), updated_at = now()
      WHERE shop_id = $4 AND id = $1 AND status = ANY($3::text[])
      RETURNING order_id, shop_id, amount_minor, currency, restock, reason`,
    [returnId, by, RETURN.fromStatesFor('received'), shopId],
    tx,
  );
  if (!r) return { refundId: null };
  const [o] = await db.rows<{ payment_status: PaymentStatus; captured_minor: number }>(
    'SELECT payment_status, captured_minor FROM orders WHERE shop_id = $2 AND id = $1',
    [r.order_id, shopId],
    tx,
  );
  const refundId = await refundWhatIsLeft(
    db, tx, { orderId: r.order_id, shopId: r.shop_id, paymentStatus: o!.payment_status, capturedMinor: o!.captured_minor, currency: r.currency },
    { what: 'return', id: returnId, reason: `return ${returnId}: ${r.reason}`, upToMinor: r.amount_minor },
  );
  if (refundId) await db.rows('UPDATE returns SET refund_id = $2 WHERE shop_id = $3 AND id = $1', [returnId, refundId, shopId], tx);
  await outbox.record(tx, { orderId: r.order_id, shopId: r.shop_id, type: RETURN.eventFor('requested', 'received')! });
  // Shared product rows last: a hot SKU stays locked only for this statement and the commit.
  if (r.restock) {
    await db.rows(
      `WITH q AS (SELECT shop_id, product_id, quantity AS qty FROM return_items WHERE shop_id = $2 AND return_id = $1 AND product_id IS NOT NULL),
            locked AS (${LOCK_IN_ORDER})
       UPDATE products p SET stock = p.stock + q.qty, updated_at = now()
         FROM q WHERE p.shop_id = q.shop_id AND p.id = q.product_id AND p.id IN (SELECT id FROM locked)`,
      [returnId, shopId],
      tx,
    );
  }
  return { refundId };
}

/**
 * The parcel a new return comes back in, followed like a shipment: a new row, or the parcel of a cancelled return
 * of the order that has this tracking number (the buyer packs both returns in that box). Any other parcel of the
 * order with this number is refused: a return's parcel needs its own. The caller holds the order's row lock.
 */
async function returnParcel(
  db: Database,
  tx: Transaction,
  p: NonNullable<Parameters<ReturnStore['request']>[0]['parcel']> & { orderId: string; shopId: string; returnId: string; fromCity: string | null; phone: string | null; openPerShop: number },
): Promise<string> {
  const [taken] = await db.rows<{ id: string; tracking_end: string | null }>(
    'SELECT id, tracking_end FROM shipments WHERE shop_id = $4 AND order_id = $1 AND carrier = $2 AND tracking_number = $3',
    [p.orderId, p.carrier, p.trackingNumber, p.shopId],
    tx,
  );
  const adopted = taken?.tracking_end === 'return_cancelled'
    ? await adoptCancelledParcel(db, tx, { shopId: p.shopId, parcelId: taken.id, returnId: p.returnId, estimate: p.estimate, openPerShop: p.openPerShop })
    : null;
  if (adopted) return adopted;
  if (taken) throw conflict(`${p.carrier} ${p.trackingNumber} is already a parcel of this order; a return's parcel needs its own tracking number`);
  // The buyer sends the parcel back to where the order's first parcel left from.
  const [first] = await db.rows<{ from_city: string | null }>(
    'SELECT from_city FROM shipments WHERE shop_id = $2 AND order_id = $1 AND return_id IS NULL ORDER BY created_at LIMIT 1',
    [p.orderId, p.shopId],
    tx,
  );
  const parcel = await insertShipment(db, tx, { ...p, toCity: first?.from_city ?? null });
  return parcel.id;
}

export function createReturnRepository(db: Database, outbox: EventOutbox): ReturnStore {
  return {
    request: (q) =>
      db.transaction(async (tx) => {
        if (!isUuid(q.orderId)) throw notFound('order');
        const [o] = await db.rows<{ status: OrderStatus; currency: string; city: string | null; phone: string | null }>(
          `SELECT status, currency, shipping_address->>'city' AS city, customer->>'phone' AS phone
             FROM orders WHERE id = $1 AND shop_id = $2 FOR UPDATE`,
          [q.orderId, q.shopId],
          tx,
        );
        if (!o) throw notFound('order');
        // Counted in a statement of its own, after the order's lock: a count inside the locking statement is read
        // from before the wait, so returns racing on one order would each see the others missing.
        const [counted] = await db.rows<{ returns: number; id: string | null; order_id: string; request_hash: string }>(
          `SELECT (SELECT count(*)::int FROM returns WHERE shop_id = $1 AND order_id = $3) AS returns, p.id, p.order_id, p.request_hash
             FROM (SELECT 1) one LEFT JOIN returns p ON p.shop_id = $1 AND p.idempotency_key = $2`,
          [q.shopId, q.idempotencyKey, q.orderId],
          tx,
        );
        const { returns, ...prior } = counted!;
        if (prior.id) {
          assertSameRequest({ orderId: prior.order_id, requestHash: prior.request_hash }, q);
          return { ret: (await loadReturn(db, { shopId: q.shopId, id: prior.id }, tx))!, created: false, shipmentId: null };
        }
        assertMayReturn(o.status);
        assertUnderLimit('returnsPerOrder', q.limits.perOrder, returns);
        const sold = await db.rows<SoldLine>(
          `SELECT sku, sum(quantity)::int AS quantity, min(product_id) AS "productId", min(unit_price_minor)::bigint AS "unitPriceMinor"
             FROM order_items WHERE shop_id = $2 AND order_id = $1 GROUP BY sku`,
          [q.orderId, q.shopId],
          tx,
        );
        // A cancelled return gives its lines back; it still counts towards RETURNS_PER_ORDER_MAX (it stays listed).
        const returned = await db.rows<{ sku: string; quantity: number }>(
          `SELECT ri.sku, sum(ri.quantity)::int AS quantity FROM return_items ri JOIN returns r ON r.shop_id = ri.shop_id AND r.id = ri.return_id
            WHERE r.shop_id = $2 AND r.order_id = $1 AND r.status <> 'cancelled' GROUP BY ri.sku`,
          [q.orderId, q.shopId],
          tx,
        );
        const { lines, amountMinor } = returnLines(
          sold.map((l) => ({ ...l, unitPriceMinor: Number(l.unitPriceMinor), productId: l.productId === null ? null : Number(l.productId) })),
          new Map(returned.map((r) => [r.sku, r.quantity])),
          q.input.items,
        );
        const id = randomUUID();
        await db.rows(
          `INSERT INTO returns (id, order_id, shop_id, idempotency_key, request_hash, reason, restock, amount_minor, currency)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
          [id, q.orderId, q.shopId, q.idempotencyKey, q.requestHash, q.input.reason, q.input.restock, amountMinor, o.currency],
          tx,
        );
        await db.rows(
          `INSERT INTO return_items (shop_id, return_id, sku, quantity, product_id, unit_price_minor)
           SELECT $6, $1, t.sku, t.quantity, t.product_id, t.unit_price_minor
             FROM unnest($2::text[], $3::int[], $4::bigint[], $5::bigint[]) AS t(sku, quantity, product_id, unit_price_minor)`,
          [id, lines.map((l) => l.sku), lines.map((l) => l.quantity), lines.map((l) => l.productId), lines.map((l) => l.unitPriceMinor), q.shopId],
          tx,
        );
        const shipmentId = q.parcel
          ? await returnParcel(db, tx, { ...q.parcel, orderId: q.orderId, shopId: q.shopId, returnId: id, fromCity: o.city, phone: o.phone, openPerShop: q.limits.openParcelsPerShop })
          : null;
        await outbox.record(tx, { orderId: q.orderId, shopId: q.shopId, type: 'return.requested' });
        return { ret: (await loadReturn(db, { shopId: q.shopId, id }, tx))!, created: true, shipmentId };
      }),

    receive: (shopId, returnId) =>
      db.transaction(async (tx) => {
        if (!isUuid(returnId)) throw notFound('return');
        const [r] = await db.rows<{ order_id: string }>('SELECT order_id FROM returns WHERE id = $1 AND shop_id = $2', [returnId, shopId], tx);
        if (!r) throw notFound('return');
        await db.rows('SELECT 1 FROM orders WHERE shop_id = $2 AND id = $1 FOR UPDATE', [r.order_id, shopId], tx);
        const { refundId } = await receiveReturnIn(db, outbox, tx, { shopId, id: returnId }, 'shop');
        const ret = (await loadReturn(db, { shopId, id: returnId }, tx))!;
        if (ret.status === 'cancelled') throw conflict('this return is cancelled: it can no longer be received');
        return { ret, refundId };
      }),

    cancel: (shopId, returnId, reason) =>
      db.transaction(async (tx) => {
        if (!isUuid(returnId)) throw notFound('return');
        const [r] = await db.rows<{ order_id: string; status: string }>('SELECT order_id, status FROM returns WHERE id = $1 AND shop_id = $2', [returnId, shopId], tx);
        if (!r) throw notFound('return');
        // Its parcel, then the order, as a poll that delivers the parcel locks them: a cancel and a delivery are
        // serialised, and the second finds what the first did (a received return: 409; an ended parcel: no receipt).
        // A return already cancelled (a repeat) takes no lock: its parcel may meanwhile be another return's, taken
        // over under the order's lock first, and locking it here then the order would deadlock with that.
        if (r.status === 'cancelled') return (await loadReturn(db, { shopId, id: returnId }, tx))!;
        await db.rows('SELECT 1 FROM shipments WHERE shop_id = $2 AND return_id = $1 FOR UPDATE', [returnId, shopId], tx);
        await db.rows('SELECT 1 FROM orders WHERE shop_id = $2 AND id = $1 FOR UPDATE', [r.order_id, shopId], tx);
        const [cancelled] = await db.rows(
          `UPDATE returns SET status = 'cancelled', cancelled_at = now(), cancel_reason = $3, updated_at = now()
            WHERE shop_id = $2 AND id = $1 AND status = ANY($4::text[]) RETURNING id`,
          [returnId, shopId, reason, RETURN.fromStatesFor('cancelled')],
          tx,
        );
        if (cancelled) {
          // Not followed any more: no polls, no push applied, and no longer one of the shop's open parcels.
          await db.rows(
            `UPDATE shipments SET tracking_ended_at = coalesce(tracking_ended_at, now()), tracking_end = 'return_cancelled'
              WHERE shop_id = $2 AND return_id = $1`,
            [returnId, shopId],
            tx,
          );
          await outbox.record(tx, { orderId: r.order_id, shopId, type: RETURN.eventFor('requested', 'cancelled')! });
        }
        const ret = (await loadReturn(db, { shopId, id: returnId }, tx))!;
        if (ret.status !== 'cancelled') throw conflict(`only a requested return can be cancelled; this one is ${ret.status}`);
        return ret;
      }),

    async get(shopId, returnId) {
      if (!isUuid(returnId)) throw notFound('return');
      const r = await loadReturn(db, { shopId, id: returnId });
      if (!r) throw notFound('return');
      return r;
    },
  };
}
