import type { OrderStatus, PaymentStatus } from './order-lifecycle.js';
import type { ReturnView } from './return.js';
import type { ShipmentView } from './tracking-ports.js';

/** The order as the domain and the public contract see it (docs/api.md section 5). */

export { FINAL_STATUSES, ORDER_STATUSES, type OrderStatus, type PaymentStatus } from './order-lifecycle.js';

export const PAYMENT_METHODS = ['alipay', 'wechat_pay', 'paypal', 'card'] as const;
export type PaymentMethod = (typeof PAYMENT_METHODS)[number];

/** How a buyer pays (docs/api.md section 6): the first two charge at once, the others wait for the buyer. */
export const PAYMENT_FLOWS = ['barcode', 'token', 'qr', 'redirect', 'jsapi', 'h5'] as const;
export type PaymentFlow = (typeof PAYMENT_FLOWS)[number];
/** The flows each method offers, its default first. */
export const FLOWS_OF: Record<PaymentMethod, readonly PaymentFlow[]> = {
  alipay: ['qr', 'redirect', 'barcode'],
  wechat_pay: ['qr', 'jsapi', 'h5', 'barcode'],
  paypal: ['redirect', 'token'],
  card: ['token'],
};
/** A flow that charges at once, without the buyer acting. */
export const chargesAtOnce = (flow: PaymentFlow) => flow === 'barcode' || flow === 'token';

/**
 * Our merchant reference of an order's trade: the order id as 32 hex digits, which every provider accepts
 * (WeChat Pay's `out_trade_no` is at most 32 characters). An order's first trade carries the id as is; after
 * the buyer switches method, trade `n` (1 to 15) puts `n` in place of the id's version digit (always 7 in our
 * UUIDv7 ids), so each trade has its own reference and every reference still names its order.
 */
const TRADE_DIGITS = '7012345689abcdef';
export const MAX_TRADES = TRADE_DIGITS.length;
export const merchantReference = (orderId: string, tradeNo = 0) => {
  const hex = orderId.replace(/-/g, '').toLowerCase();
  return `${hex.slice(0, 12)}${TRADE_DIGITS[tradeNo] ?? '7'}${hex.slice(13)}`;
};
/** The order id a merchant reference names (either form), or the reference unchanged when it is neither. */
export const orderIdOf = (reference: string) => {
  const hex = reference.replace(/-/g, '').toLowerCase();
  if (!/^[0-9a-f]{32}$/.test(hex)) return reference;
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7${hex.slice(13, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
};
/** Which of its order's trades a merchant reference is (0: the first). */
export const tradeNoOf = (reference: string) => Math.max(0, TRADE_DIGITS.indexOf(reference.replace(/-/g, '').toLowerCase()[12] ?? '7'));

export type RejectionReason = 'unknown_sku' | 'out_of_stock' | 'currency_mismatch' | 'total_too_large';

export interface OrderLine {
  sku: string;
  quantity: number;
  unitPriceMinor: number | null;
  lineTotalMinor: number | null;
}

export interface Party {
  name: string;
  email?: string | undefined;
  phone?: string | undefined;
}

export interface Address {
  name: string;
  line1: string;
  line2?: string | undefined;
  city: string;
  region?: string | undefined;
  postalCode: string;
  country: string;
}

/** What the shop shows its buyer (docs/api.md section 6). */
export type PaymentAction =
  | { type: 'qr_code'; qrContent: string }
  | { type: 'redirect'; url: string }
  | { type: 'jsapi'; params: Record<string, string> };

export interface PaymentEvent {
  at: string;
  type: string;
  detail: string | null;
}

export interface Payment {
  method: PaymentMethod;
  flow: PaymentFlow;
  status: PaymentStatus;
  /** What the buyer must do while `status` is `action_required`; null otherwise. */
  action: PaymentAction | null;
  /** The end of the stock hold while the order waits for its payment. */
  expiresAt: string | null;
  events: PaymentEvent[];
  providerReference: string | null;
  capturedMinor: number;
  refundedMinor: number;
  attempts: number;
}

export interface Order {
  id: string;
  shopId: string;
  externalId: string | null;
  status: OrderStatus;
  statusReason: string | null;
  currency: string;
  totalMinor: number | null;
  items: OrderLine[];
  customer: Party;
  shippingAddress: Address;
  payment: Payment;
  shipments: ShipmentView[];
  /** Goods sent back (docs/api.md section 7a), oldest first. */
  returns: ReturnView[];
  createdAt: Date;
  updatedAt: Date;
}
