import { conflict, DomainError, limitReached } from './errors.js';
import { ORDER, PAYMENT, type OrderStatus, type PaymentStatus } from './order-lifecycle.js';

/**
 * The decisions the repositories take while they hold an order's row lock, as pure functions: the SQL reads
 * and writes, these say what is allowed.
 */

/** The order still waits for its payment: the states whose follow-up work is the capture. */
export function awaitsPayment(o: { status: OrderStatus; paymentStatus: PaymentStatus }): boolean {
  return ORDER.statesNeeding('capture').includes(o.status) && PAYMENT.statesNeeding('capture').includes(o.paymentStatus);
}

/** A trade may exist at the provider: a charge was attempted, or the buyer was given an action. */
export function tradeOpened(o: { attempts: number; paymentStatus: PaymentStatus }): boolean {
  return o.attempts > 0 || o.paymentStatus === 'action_required';
}

/**
 * What an order's action (a refund, a switch of payment, a return) under an Idempotency-Key already used by the shop
 * may do: the same request again is a replay of the first; anything else under that key is refused.
 */
export function assertSameRequest(used: { orderId: string; requestHash: string }, now: { orderId: string; requestHash: string }): void {
  if (used.orderId !== now.orderId || used.requestHash !== now.requestHash) {
    throw new DomainError('idempotency_key_reused', 'this Idempotency-Key was already used with a different request');
  }
}

/** A parcel may be added to an order that may become `shipped`, or already is (a second parcel). */
export function assertMayShip(status: OrderStatus): void {
  if (!ORDER.canTransition(status, 'shipped') && status !== 'shipped') throw conflict(`only a paid order can be shipped; this one is ${status}`);
}

/** Goods come back only from an order that went out: shipped or delivered. */
export function assertMayReturn(status: OrderStatus): void {
  if (status !== 'shipped' && status !== 'delivered') throw conflict(`only a shipped or delivered order can take a return; this one is ${status}`);
}

/** An order's line as sold (all its lines of one sku together). */
export interface SoldLine { sku: string; quantity: number; productId: number | null; unitPriceMinor: number }
export interface ReturnedLine { sku: string; quantity: number; productId: number | null; unitPriceMinor: number }

/**
 * The lines a return takes back, priced as they were sold, and their value. Never more of a sku than was sold
 * and not yet returned (`returned`: what the order's earlier returns took), else a 409 naming the sku.
 */
export function returnLines(
  sold: readonly SoldLine[],
  returned: ReadonlyMap<string, number>,
  requested: ReadonlyArray<{ sku: string; quantity: number }>,
): { lines: ReturnedLine[]; amountMinor: number } {
  const bySku = new Map(sold.map((l) => [l.sku, l]));
  let total = 0n;
  const lines = requested.map((r) => {
    const line = bySku.get(r.sku);
    if (!line) throw conflict(`sku ${JSON.stringify(r.sku)} is not in this order`);
    const left = line.quantity - (returned.get(r.sku) ?? 0);
    if (r.quantity > left) {
      throw conflict(`sku ${JSON.stringify(r.sku)}: ${r.quantity} to return, but only ${left} of the ${line.quantity} sold ${left === 1 ? 'is' : 'are'} not yet returned`);
    }
    total += BigInt(line.unitPriceMinor) * BigInt(r.quantity);
    return { sku: r.sku, quantity: r.quantity, productId: line.productId, unitPriceMinor: line.unitPriceMinor };
  });
  return { lines, amountMinor: Number(total) };
}

/**
 * Caps on how many of something one order or one shop may have, each named by the setting that sets it (the
 * 409 names it too). Counted while the order's row (or, for a shop's count, the shop's) is locked, so
 * concurrent requests cannot pass a cap together; a replay of something that exists is never refused.
 */
export const LIMITS = {
  shipmentsPerOrder: { setting: 'SHIPMENTS_PER_ORDER_MAX', what: 'shipments per order' },
  openShipmentsPerShop: { setting: 'OPEN_SHIPMENTS_PER_SHOP_MAX', what: 'open shipments (not yet delivered or returned) per shop' },
  returnsPerOrder: { setting: 'RETURNS_PER_ORDER_MAX', what: 'returns per order' },
} as const;

/** One more must still fit: `count` exist already, and `max` is the cap `limit` sets. */
export function assertUnderLimit(limit: keyof typeof LIMITS, max: number, count: number): void {
  const { setting, what } = LIMITS[limit];
  if (count >= max) throw limitReached(`limit reached: at most ${max} ${what} (${setting}); there are ${count} already`);
}

/** Whether a cancel moves the order; a cancelled order's second cancel is a no-op, anything else past shipment a 409. */
export function cancelDecision(status: OrderStatus): 'cancel' | 'already_cancelled' {
  if (status === 'cancelled') return 'already_cancelled';
  if (!ORDER.canTransition(status, 'cancelled')) throw conflict(`an order that is ${status} cannot be cancelled`);
  return 'cancel';
}

/** Only a captured payment (in full or partly refunded) has money to give back. */
export const hasRefundableCapture = (status: PaymentStatus) => PAYMENT.canTransition(status, 'refunded');

/**
 * A shop's refund adds up with the refunds already succeeded or pending to at most the captured amount.
 * `committedMinor` counts pending ones too: two concurrent requests must not both fit.
 */
export function assertRefundFits(r: { paymentStatus: PaymentStatus; capturedMinor: number; committedMinor: number; amountMinor: number }): void {
  if (!hasRefundableCapture(r.paymentStatus)) throw conflict('the order has no captured payment to refund');
  if (r.committedMinor + r.amountMinor > r.capturedMinor) {
    throw conflict(`refunds would exceed the captured amount (${r.capturedMinor} captured, ${r.committedMinor} already refunded or pending)`);
  }
}

/**
 * What a refund orderworks starts itself takes: what is left of the capture once the order's refunds succeeded or
 * pending are counted (a cancel: all of it), at most `upToMinor` (a received return: its lines' value); 0 when
 * nothing was captured or it is all refunded.
 */
export function refundLeft(r: { paymentStatus: PaymentStatus; capturedMinor: number; committedMinor: number; upToMinor?: number | undefined }): number {
  const left = hasRefundableCapture(r.paymentStatus) ? Math.max(0, r.capturedMinor - r.committedMinor) : 0;
  return Math.min(left, r.upToMinor ?? left);
}

/**
 * Stock for a batch of priced orders, given in id order (arrival order for UUIDv7 ids): each takes all of
 * its quantities or none, so an order that does not fit is out of stock while a later, smaller one may still
 * fit. `stock` is what each product has left; returns what the placed orders take per product.
 */
export function allocateStock<T extends { reservations: ReadonlyMap<number, number> }>(
  orders: readonly T[],
  stock: ReadonlyMap<number, number>,
): { placed: T[]; outOfStock: T[]; taken: Map<number, number> } {
  const left = new Map(stock);
  const taken = new Map<number, number>();
  const placed: T[] = [];
  const outOfStock: T[] = [];
  for (const o of orders) {
    if (![...o.reservations].every(([id, qty]) => (left.get(id) ?? 0) >= qty)) {
      outOfStock.push(o);
      continue;
    }
    for (const [id, qty] of o.reservations) {
      left.set(id, left.get(id)! - qty);
      taken.set(id, (taken.get(id) ?? 0) + qty);
    }
    placed.push(o);
  }
  return { placed, outOfStock, taken };
}

/**
 * Why money the provider's record shows does not pay this order (contract section 6, "When an order is paid"),
 * or null when it does: exactly the order's amount, in its currency, to the merchant account the order was
 * charged through. The merchant reference and the method are checked where the record is found (a lookup by
 * our reference on the order's own provider, a notification on its method's route).
 */
export function settlementMismatch(
  order: { amountMinor: number; currency: string; merchant: string | null },
  platformMerchant: string | undefined,
  paid: { amountMinor: number; currency: string; merchant?: string | undefined },
): { reason: 'payment_currency_mismatch' | 'payment_amount_mismatch' | 'payment_merchant_mismatch'; detail: string } | null {
  const expected = `${order.amountMinor} ${order.currency.toUpperCase()}`;
  const got = `${paid.amountMinor} ${paid.currency.toUpperCase()}`;
  if (paid.currency.toUpperCase() !== order.currency.toUpperCase()) {
    return { reason: 'payment_currency_mismatch', detail: `the provider's record shows ${got} paid for an order of ${expected}` };
  }
  if (paid.amountMinor !== order.amountMinor) {
    return { reason: 'payment_amount_mismatch', detail: `the provider's record shows ${got} paid for an order of ${expected}` };
  }
  const account = order.merchant ?? platformMerchant;
  if (paid.merchant !== undefined && account !== undefined && paid.merchant !== account) {
    return { reason: 'payment_merchant_mismatch', detail: `the provider's record shows the money paid to merchant ${paid.merchant}, not ${account}` };
  }
  return null;
}
