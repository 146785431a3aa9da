import type { PaymentMethod } from './order.js';

/**
 * The port every payment provider adapter implements. Adapters classify provider answers where they are
 * born (see errors.ts):
 *  - a decline or an invalid request: throw PermanentError('payment_declined' | 'provider_rejected');
 *  - 5xx, 429, a timeout or a network error: throw TransientError('provider_unavailable');
 *    a timeout of a capture call also sets `options.ambiguous` (the charge may have happened), so the caller
 *    queries by merchant reference before charging again.
 */

export interface CaptureRequest {
  /** Our merchant reference: the order id. The provider's idempotency key for the charge derives from it. */
  reference: string;
  amountMinor: number;
  /** ISO 4217, upper case. */
  currency: string;
  /** What the shop sent as `payment.token`: an Alipay auth_code, a PayPal approved order id, a card PaymentMethod... */
  token: string;
  description: string;
}

export interface Capture {
  status: 'captured';
  /** The provider's id of the charge (trade_no, transaction_id, capture id, PaymentIntent id). */
  providerReference: string;
  amountMinor: number;
}

export type CaptureLookup =
  | Capture
  | { status: 'not_found' }
  | { status: 'pending' }
  | { status: 'failed'; reason: string };

export interface RefundRequest {
  /** The order id (merchant reference of the charge). */
  reference: string;
  /** Our unique id of this refund: the provider's idempotency key for it (out_request_no, out_refund_no...). */
  refundId: string;
  amountMinor: number;
  /** The captured amount of the charge being refunded (some providers require it). */
  capturedMinor: number;
  currency: string;
  providerReference: string;
  /** The original capture request's token, for providers whose refunds hang off it. */
  token: string;
}

export type RefundOutcome =
  | { status: 'succeeded'; providerRefundId: string }
  | { status: 'pending'; providerRefundId?: string }
  | { status: 'failed'; reason: string };

/** A provider's asynchronous notification, verified and decoded. */
export interface PaymentNotification {
  reference: string;
  status: 'captured' | 'failed' | 'other';
  providerReference?: string;
  /** What the provider says was paid; a capture notification without both is refused. */
  amountMinor?: number;
  /** ISO 4217, upper case. */
  currency?: string;
}

/** A notification exactly as it arrived: signatures are over these bytes. */
export interface RawNotification {
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/**
 * What a notification claims, read from its shape before anything in it is trusted:
 *  - `acts`: it may change a payment here; `reference` is the merchant reference it names in clear (absent
 *    when only the verified content tells, as with WeChat Pay's encrypted resource);
 *  - otherwise it is an event we never act on, acknowledged with `reply` and never verified.
 */
export type NotificationClaim = { acts: true; reference?: string } | { acts: false; reply: NotificationReply };

export interface NotificationReply {
  status: number;
  contentType: string;
  body: string;
}

export interface PaymentGateway {
  readonly method: PaymentMethod;
  capture(req: CaptureRequest): Promise<Capture>;
  /** Looks the charge up by our merchant reference: the way out of an ambiguous capture. */
  lookup(req: CaptureRequest): Promise<CaptureLookup>;
  refund(req: RefundRequest): Promise<RefundOutcome>;
  lookupRefund(req: RefundRequest): Promise<RefundOutcome>;
  /**
   * The cheap look at a notification that comes before any verification (for PayPal an outbound call):
   * throws PermanentError('provider_rejected') when the body or headers are not shaped like this provider's
   * notification. Verifies nothing.
   */
  inspectNotification(raw: RawNotification): Promise<NotificationClaim>;
  /**
   * Verifies the provider's signature on a notification (raw body bytes and headers exactly as received)
   * and decodes it; throws PermanentError('provider_rejected') when the signature or the timestamp is wrong.
   * `reply` is what the provider expects back on success.
   */
  parseNotification(raw: RawNotification): Promise<{ notification: PaymentNotification; reply: NotificationReply }>;
}
