import { randomBytes } from 'node:crypto';
import type { PaymentMethod } from '../../domain/order.js';

/**
 * A trade as a provider keeps it, the same shape for every provider: each provider module only translates
 * its wire format to these rows and back. A trade made at once by a token or payment code is `captured` from
 * its first row; one that waits for a buyer starts `pending` and has a `checkoutRef`, the buyer's way to it
 * (GET /sandbox/checkout/{checkoutRef}).
 */
export type TradeStatus = 'pending' | 'captured' | 'partially_refunded' | 'refunded' | 'closed';

/** How the trade was opened; providers answer differently per product (trade_type, product_code...). */
export type TradeFlow =
  | 'token' | 'bar_code' | 'precreate' | 'page' | 'wap'
  | 'codepay' | 'native' | 'jsapi' | 'h5'
  | 'paypal_order' | 'payment_intent';

export interface SandboxTrade {
  /** The provider's id of the trade: trade_no, transaction_id, the PayPal capture id, the PaymentIntent id. */
  id: string;
  method: PaymentMethod;
  /** The merchant's reference: out_trade_no, custom_id, metadata[order_id]. */
  reference: string;
  /** What the provider keys the trade by (out_trade_no, the PayPal order id, the Idempotency-Key). */
  tradeKey: string;
  checkoutRef: string | null;
  flow: TradeFlow;
  /** The merchant account the trade belongs to: the platform's own, or a sub-merchant's (partner mode). */
  merchant: string;
  requestedMinor: number;
  /** What the buyer paid: 0 until paid. */
  amountMinor: number;
  currency: string;
  /** `closed` also for a pending trade whose expiry has passed. */
  status: TradeStatus;
  /** Closed by its expiry rather than by anyone. */
  expired: boolean;
  refundedMinor: number;
  /** The payment code or token script (tok_ok...), '' for a trade paid on the checkout page. */
  token: string;
  /** Provider-specific extras: subject, openid, return_url, idempotency keys, declines... */
  details: Record<string, string>;
  notifyUrl: string | null;
  expiresAt: Date | null;
  paidAt: Date | null;
  closedAt: Date | null;
  scannedAt: Date | null;
  approvedAt: Date | null;
  declinedAt: Date | null;
  createdAt: Date;
}

export interface SandboxRefund {
  id: string;
  refundKey: string;
  chargeId: string;
  amountMinor: number;
  details: Record<string, string>;
  createdAt: Date;
}

/** The columns of a trade as SandboxTrade, for SELECT and RETURNING alike. */
export const TRADE_COLUMNS = `id, method, reference, trade_key AS "tradeKey", checkout_ref AS "checkoutRef", flow, merchant,
  requested_minor AS "requestedMinor", amount_minor AS "amountMinor", trim(currency) AS currency,
  CASE WHEN status = 'pending' AND expires_at <= now() THEN 'closed' ELSE status END AS status,
  (status = 'pending' AND coalesce(expires_at <= now(), false)) AS expired,
  refunded_minor AS "refundedMinor", token, details, notify_url AS "notifyUrl", expires_at AS "expiresAt",
  paid_at AS "paidAt", closed_at AS "closedAt", scanned_at AS "scannedAt", approved_at AS "approvedAt",
  declined_at AS "declinedAt", created_at AS "createdAt"`;

export const REFUND_COLUMNS = `id, refund_key AS "refundKey", charge_id AS "chargeId", amount_minor AS "amountMinor", details, created_at AS "createdAt"`;

export const isPaid = (t: Pick<SandboxTrade, 'status'>) => t.status === 'captured' || t.status === 'partially_refunded' || t.status === 'refunded';

export const randomDigits = (n: number) => Array.from(randomBytes(n), (b) => String(b % 10)).join('');
export const randomAlnum = (n: number, upper = false) => {
  const chars = upper ? 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789' : 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  return Array.from(randomBytes(n), (b) => chars[b % chars.length]).join('');
};

const UUID = /^([0-9a-f]{8})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{12})$/i;

/**
 * The forms a merchant reference derived from an order id takes: the uuid itself, and its 32 hex digits
 * without dashes (what fits WeChat Pay's 32-character out_trade_no). Anything else is only itself.
 */
export function referenceForms(reference: string): string[] {
  const m = UUID.exec(reference);
  if (!m) return [reference];
  const parts = m.slice(1).map((p) => p.toLowerCase());
  return [...new Set([reference, parts.join('-'), parts.join('')])];
}
