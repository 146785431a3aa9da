import type { OrderRef } from './keys.js';
/** What operators see of any shop's orders (docs/api.md section 9), and of the jobs each order has. */

export interface OrderSummary {
  id: string;
  shopId: string;
  externalId: string | null;
  status: string;
  statusReason: string | null;
  currency: string;
  totalMinor: number | null;
  paymentMethod: string;
  paymentStatus: string;
  createdAt: Date;
  updatedAt: Date;
}

export interface AdminOrderQuery {
  shopId?: string | undefined;
  status?: string | undefined;
  /** An order id or an `externalId`. */
  text?: string | undefined;
  textIsId: boolean;
  after?: string | undefined;
  limit: number;
}

/** The keys of the jobs an order may have had: its refunds and its webhook events make their own job ids. */
export interface OrderWorkKeys {
  orderId: string;
  refundIds: string[];
  eventSeqs: number[];
}

export interface OrderJob {
  queue: string;
  id: string;
  /** What the job does and for whom (`charge order ...`). */
  name: string;
  state: string;
  attemptsMade: number;
  lastError: string | null;
  createdAt: Date | null;
  finishedAt: Date | null;
}

export interface OrderLookupStore {
  search(q: AdminOrderQuery): Promise<OrderSummary[]>;
  shopOf(orderId: string): Promise<string | null>;
  workKeys(order: OrderRef): Promise<OrderWorkKeys>;
}

export interface OrderJobInspector {
  jobsOf(keys: OrderWorkKeys): Promise<OrderJob[]>;
}
