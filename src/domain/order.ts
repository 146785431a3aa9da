import type { OrderStatus, PaymentStatus } from './order-lifecycle.js';
import type { ShipmentView } from './tracking-ports.js';

/** The order as the domain and the public contract see it (docs/api.md section 5). */

export { FINAL_STATUSES, ORDER_STATUSES, type OrderStatus, type PaymentStatus } from './order-lifecycle.js';

export const PAYMENT_METHODS = ['alipay', 'wechat_pay', 'paypal', 'card'] as const;
export type PaymentMethod = (typeof PAYMENT_METHODS)[number];

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
