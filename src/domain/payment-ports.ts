import type { ActionRequired, Capture, RefundOutcome } from './payment-gateway.js';
import type { OrderRef, ShopRow } from './keys.js';
import type { OrderStatus, PaymentAction, PaymentFlow, PaymentMethod, PaymentStatus } from './order.js';

/** What a capture needs to know of an order. */
export interface CaptureContext {
  orderId: string;
  shopId: string;
  status: OrderStatus;
  paymentStatus: PaymentStatus;
  method: PaymentMethod;
  flow: PaymentFlow;
  token: string;
  amountMinor: number;
  currency: string;
  attempts: number;
  /** When the stock hold began (null before placement). */
  placedAt: Date | null;
  payer?: { openid?: string; device?: 'mobile' | 'desktop'; clientIp?: string } | undefined;
  returnUrl?: string | undefined;
  /** The provider's id of the open trade, once its action was recorded. */
  trade: string | null;
  action: PaymentAction | null;
  /** The shop's own merchant account at this order's provider (partner mode); null: the platform's. */
  merchant: string | null;
  /** Which of the order's trades is current (0 until the buyer switches method): part of its merchant reference. */
  tradeNo: number;
}

export type SettleOutcome =
  | { outcome: 'paid' }
  | { outcome: 'already_settled' }
  /** The money came in after the order stopped wanting it (cancelled, timed out): it is being refunded. */
  | { outcome: 'refunding'; refundId: string };

export interface RefundContext {
  refundId: string;
  orderId: string;
  status: 'pending' | 'succeeded' | 'failed';
  amountMinor: number;
  capturedMinor: number;
  currency: string;
  method: PaymentMethod;
  token: string;
  providerReference: string;
  trade: string | null;
  merchant: string | null;
  tradeNo: number;
}

export interface PaymentSwitch {
  method: PaymentMethod;
  flow: PaymentFlow;
  token: string;
  payer?: CaptureContext['payer'];
  returnUrl?: string | undefined;
}

export interface RefundView {
  id: string;
  orderId: string;
  amountMinor: number;
  currency: string;
  reason: string | null;
  status: 'pending' | 'succeeded' | 'failed';
  createdAt: Date;
}

export interface PaymentStore {
  /** Counts an attempt and returns the order if it still awaits capture (`placed`, payment pending), else null. */
  beginCapture(order: OrderRef): Promise<CaptureContext | null>;
  captureContext(order: OrderRef): Promise<CaptureContext | null>;
  /**
   * `captureContext` of an order known by its id alone (a provider's notification names only the order): found
   * once, across shops; what follows finds the order by the shop it holds. Null when there is no such order.
   */
  notifiedContext(orderId: string): Promise<CaptureContext | null>;
  /** Records a capture once. A capture of an order that no longer wants it becomes a full refund. */
  settleCapture(order: OrderRef, capture: Capture): Promise<SettleOutcome>;
  /** Ends a `placed` order `payment_failed` and releases its stock, once. False if it was not `placed`. */
  failPayment(order: OrderRef, reason: string, detail?: string, tradeNo?: number): Promise<boolean>;
  /**
   * Records the open trade and what the buyer must do (payment `action_required`), once; tells the shop.
   * Only for trade `tradeNo`: an answer about a trade the buyer has since switched away from changes nothing.
   */
  recordAction(order: OrderRef, answer: ActionRequired, expiresAt: Date, tradeNo: number): Promise<boolean>;
  /**
   * The buyer picks another method while the order waits for its payment (its previous trade already closed at
   * the provider): a new trade, `pending` again. Once per Idempotency-Key; null when the order no longer waits.
   */
  /** True when this Idempotency-Key already switched this order with this request; throws when it was used for another. */
  switchDone(shopId: string, idempotencyKey: string, orderId: string, requestHash: string): Promise<boolean>;
  switchMethod(s: { shopId: string; orderId: string; idempotencyKey: string; requestHash: string; fromTradeNo: number; payment: PaymentSwitch }): Promise<{ switched: boolean }>;
  /**
   * Money the provider's record shows that does not settle this order (another amount, currency or merchant):
   * the order is not paid. It ends `payment_failed` if it still waited, the money is recorded and refunded in full.
   */
  refuseCapture(order: OrderRef, capture: Capture, reason: string, detail: string): Promise<SettleOutcome>;
  /** Creates a refund unless the shop already used this key; 409s on overdraw or a reused key. */
  requestRefund(r: { shopId: string; orderId: string; idempotencyKey: string; requestHash: string; amountMinor: number; reason?: string | undefined }): Promise<{ refund: RefundView; created: boolean }>;
  refundContext(refund: ShopRow): Promise<RefundContext | null>;
  completeRefund(refund: ShopRow, outcome: Exclude<RefundOutcome, { status: 'pending' }>): Promise<void>;
  /** Cancels before shipment: releases stock, and returns the id of the refund of what was captured, if any. */
  cancel(shopId: string, orderId: string): Promise<{ refundId: string | null }>;
}

/** Payment work started after a commit; never rejects (false: not queued, the reconciler will start it). */
export interface PaymentJobs {
  /**
   * `later`: the order's first capture already ran in its placement job (captureAfterPlacement) and the job
   * takes over from it: after `delayMs` (a trade that waits for its buyer), or after the queue's first retry
   * delay (a failed attempt), not at once.
   */
  capture(order: OrderRef, later?: { delayMs?: number }): Promise<boolean>;
  abandon(order: OrderRef, reason: 'payment_timeout' | 'payment_retries_exhausted'): Promise<boolean>;
  refund(refund: ShopRow): Promise<boolean>;
}
