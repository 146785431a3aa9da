import { randomUUID } from 'node:crypto';
import type { Database, Transaction } from './database.js';
import type { PaymentStatus } from '../domain/order-lifecycle.js';
import { hasRefundableCapture, refundLeft } from '../domain/order-rules.js';
import type { RefundView } from '../domain/payment-ports.js';

/** The refunds table as the repositories that start refunds share it (shops' refunds, cancels, returns). */

/**
 * Refunds orderworks starts itself are keyed in a namespace a shop cannot write: a shop's Idempotency-Key is
 * printable ASCII, and these begin with a character that is not.
 */
export const SYSTEM_KEY = (what: 'cancel' | 'auto-refund' | 'return', id: string) => `\u00a7${what}:${id}`;

export interface RefundRow {
  id: string;
  order_id: string;
  amount_minor: number;
  currency: string;
  reason: string | null;
  status: RefundView['status'];
  created_at: Date;
  request_hash: string;
}
export const toRefund = (r: RefundRow): RefundView => ({
  id: r.id,
  orderId: r.order_id,
  amountMinor: r.amount_minor,
  currency: r.currency,
  reason: r.reason,
  status: r.status,
  createdAt: r.created_at,
});

export async function insertRefund(db: Database, tx: Transaction, r: { orderId: string; shopId: string; key: string; hash: string; amountMinor: number; currency: string; reason: string | null }) {
  const [row] = await db.rows<RefundRow>(
    `INSERT INTO refunds (id, order_id, shop_id, idempotency_key, request_hash, amount_minor, currency, reason)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (shop_id, idempotency_key) DO NOTHING
     RETURNING id, order_id, amount_minor, currency, reason, status, created_at, request_hash`,
    [randomUUID(), r.orderId, r.shopId, r.key, r.hash, r.amountMinor, r.currency, r.reason],
    tx,
  );
  return row;
}

/** What an order's refunds already take from its capture: those that succeeded and those still pending. */
export async function committedRefunds(db: Database, tx: Transaction, o: { shopId: string; orderId: string }): Promise<number> {
  const [row] = await db.rows<{ committed: number }>(
    `SELECT coalesce(sum(amount_minor), 0)::bigint AS committed FROM refunds WHERE shop_id = $2 AND order_id = $1 AND status IN ('pending', 'succeeded')`,
    [o.orderId, o.shopId],
    tx,
  );
  return row?.committed ?? 0;
}

/**
 * A refund orderworks starts itself (a cancel, a received return) of what is left of the order's capture, at most
 * `upToMinor`, keyed `SYSTEM_KEY(what, id)` so it exists at most once. The caller holds the order's row lock.
 * Returns its id, or null when nothing is left to refund (or it already exists).
 */
export async function refundWhatIsLeft(
  db: Database,
  tx: Transaction,
  o: { orderId: string; shopId: string; paymentStatus: PaymentStatus; capturedMinor: number; currency: string },
  r: { what: 'cancel' | 'return'; id: string; reason: string; upToMinor?: number },
): Promise<string | null> {
  if (!hasRefundableCapture(o.paymentStatus)) return null;
  const amountMinor = refundLeft({ ...o, committedMinor: await committedRefunds(db, tx, o), upToMinor: r.upToMinor });
  if (amountMinor <= 0) return null;
  const refund = await insertRefund(db, tx, {
    orderId: o.orderId, shopId: o.shopId, key: SYSTEM_KEY(r.what, r.id), hash: r.what, amountMinor, currency: o.currency, reason: r.reason,
  });
  return refund?.id ?? null;
}
