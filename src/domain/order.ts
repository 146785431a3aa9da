import type { ShipmentView } from './tracking-ports.js';

/** The order as the domain and the public contract see it (docs/api.md section 5). */

export const ORDER_STATUSES = [
  'received', 'placed', 'paid', 'shipped', 'delivered', 'rejected', 'payment_failed', 'cancelled', 'refunded',
] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];
export const FINAL_STATUSES: readonly OrderStatus[] = ['delivered', 'rejected', 'payment_failed', 'cancelled', 'refunded'];

export const PAYMENT_METHODS = ['alipay', 'wechat_pay', 'paypal', 'card'] as const;
export type PaymentMethod = (typeof PAYMENT_METHODS)[number];
export type PaymentStatus = 'pending' | 'captured' | 'failed' | 'partially_refunded' | 'refunded';

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

export interface Payment {
  method: PaymentMethod;
  status: PaymentStatus;
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
  createdAt: Date;
  updatedAt: Date;
}
