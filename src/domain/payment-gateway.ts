import type { PaymentAction, PaymentFlow, PaymentMethod } from './order.js';

export type { PaymentAction };

/**
 * The port every payment provider adapter implements. Adapters classify provider answers where they are
 * born (see errors.ts):
 *  - a decline or an invalid request: throw PermanentError('payment_declined' | 'provider_rejected');
 *  - 5xx, 429, a timeout or a network error: throw TransientError('provider_unavailable');
 *    a timeout of a capture call also sets `options.ambiguous` (the charge may have happened), so the caller
 *    queries by merchant reference before charging again.
 */

export interface CaptureRequest {
  /**
   * Our merchant reference of the trade: the order id as 32 hex digits (`merchantReference`), which every
   * provider accepts (WeChat Pay's `out_trade_no` is at most 32 characters). The provider's idempotency key
   * for the charge derives from it.
   */
  reference: string;
  amountMinor: number;
  /** ISO 4217, upper case. */
  currency: string;
  /** How the buyer pays (docs/api.md section 6). `barcode` and `token` charge at once; the others need the buyer. */
  flow: PaymentFlow;
  /** What the shop sent as `payment.token` ('' when the flow needs none): an auth_code, a PayPal order id, a card PaymentMethod... */
  token: string;
  description: string;
  /** The provider's id of the trade the buyer acts on, once `capture` answered an action: a PayPal order, a PaymentIntent. */
  trade?: string | undefined;
  payer?: { openid?: string | undefined; device?: 'mobile' | 'desktop' | undefined; clientIp?: string | undefined } | undefined;
  /** Where the provider sends the buyer's browser back to after a redirect flow. */
  returnUrl?: string | undefined;
  /** The end of the stock hold: the trade must not be payable after it. */
  expiresAt: Date;
  /**
   * The shop's own merchant account at this provider (partner mode: WeChat `sub_mchid`, Alipay `app_auth_token`,
   * PayPal `payee.merchant_id`, Stripe `Stripe-Account`); undefined: the platform's own account.
   */
  merchant?: string | undefined;
}

export interface Capture {
  status: 'captured';
  /** The provider's id of the charge (trade_no, transaction_id, capture id, PaymentIntent id). */
  providerReference: string;
  /** What the buyer paid, as the provider's record says. */
  amountMinor: number;
  /** ISO 4217, upper case, as the provider's record says. */
  currency: string;
  /** The merchant account the provider says was paid, where its record names one. */
  merchant?: string | undefined;
}


/** The trade is open at the provider and waits for the buyer. */
export interface ActionRequired {
  status: 'action_required';
  action: PaymentAction;
  /** The provider's id of the open trade when it has one of its own (PayPal order id, PaymentIntent id). */
  trade?: string | undefined;
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
  /** The provider's id of the trade (PayPal order, PaymentIntent), when it has one. */
  trade?: string | undefined;
  /** The shop's own merchant account the charge went to (partner mode); undefined: the platform's. */
  merchant?: string | undefined;
}

export type RefundOutcome =
  | { status: 'succeeded'; providerRefundId: string }
  | { status: 'pending'; providerRefundId?: string }
  | { status: 'failed'; reason: string };

/** A provider's asynchronous notification, verified and decoded. */
export interface PaymentNotification {
  reference: string;
  /** `approved`: the buyer approved a trade the merchant must still complete (a PayPal order). */
  status: 'captured' | 'approved' | 'failed' | 'other';
  providerReference?: string;
  /** What the provider says was paid; a capture notification without both is refused. */
  amountMinor?: number;
  /** ISO 4217, upper case. */
  currency?: string;
  /** The merchant account the provider says was paid, where the notification names one. */
  merchant?: string;
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
  /** The platform's own merchant account at this provider: what a capture without `merchant` must name. */
  readonly platformMerchant?: string | undefined;
  /**
   * Charges at once (`barcode`, `token`), or opens the trade the buyer acts on and answers its action
   * (QR, redirect, JSAPI, H5, PayPal approval, 3-D Secure). Idempotent on `reference`.
   */
  capture(req: CaptureRequest): Promise<Capture | ActionRequired>;
  /**
   * Looks the charge up by our merchant reference (or `trade`): the way out of an ambiguous capture and how an
   * open trade is followed. A trade the buyer approved but the merchant must still complete (PayPal) is completed here.
   */
  lookup(req: CaptureRequest): Promise<CaptureLookup>;
  /**
   * Closes the trade at the provider so it can no longer be paid (Alipay close/cancel, WeChat close/reverse,
   * PaymentIntent cancel, PayPal: nothing to close, an uncaptured order is never charged). Answers the capture
   * instead when the buyer paid first; `failed` once closed or when there was never a trade.
   */
  close(req: CaptureRequest): Promise<CaptureLookup>;
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
