import type { Order, OrderStatus, RejectionReason } from './order.js';
import type { CatalogEntry, PricingResult } from './pricing.js';
import type { OrderInput, ProductInput } from './order-input.js';
import type { OrderRef } from './keys.js';

/** The small interfaces the domain needs from the outside world. Adapters live in src/db and src/queue. */

export interface Shop {
  id: string;
  name: string;
  webhookUrl: string | null;
  webhookSecret: string;
}

export interface ShopStore {
  create(shop: Shop & { apiKeyHash: string; merchants?: Merchants | undefined }): Promise<void>;
  findByApiKeyHash(hash: string): Promise<Shop | null>;
  /** Applies a change (merchants merged per method, null removes one); null when there is no such shop. */
  update(id: string, change: ShopChange): Promise<(Shop & { merchants: Merchants }) | null>;
}

/** A shop's own merchant account at each provider (partner mode, docs/api.md section 6). */
export interface Merchants {
  wechat_pay?: { subMchid: string };
  alipay?: { appAuthToken: string };
  paypal?: { payeeMerchantId: string };
  card?: { account: string };
}
export interface ShopChange {
  name?: string | undefined;
  webhookUrl?: string | null | undefined;
  merchants?: { [K in keyof Merchants]?: Merchants[K] | null } | undefined;
}

export interface Product extends ProductInput {
  sku: string;
  reserved: number;
}

export interface ProductStore {
  /** Creates or replaces the product; `created` tells which. */
  upsert(shopId: string, sku: string, input: ProductInput): Promise<{ product: Product; created: boolean }>;
  get(shopId: string, sku: string): Promise<Product | null>;
}

export interface NewOrder {
  id: string;
  shopId: string;
  idempotencyKey: string;
  requestHash: string;
  input: OrderInput;
}

/** What the intake stored for an idempotency key: the new order, or the one the key already named. */
export interface ReceivedOrder {
  id: string;
  requestHash: string;
  status: OrderStatus;
  created: boolean;
  createdAt: Date;
}

export interface ListQuery {
  status?: OrderStatus | undefined;
  limit: number;
  /** Id of the last order of the previous page. */
  after?: string | undefined;
}

export type PlacementOutcome =
  | { outcome: 'placed'; totalMinor: number }
  | { outcome: 'rejected'; reason: RejectionReason }
  | { outcome: 'skipped'; status: OrderStatus };

export interface OrderStore {
  /**
   * Stores a `received` order unless the shop already used this idempotency key. Returns the stored order's
   * id and request hash either way, so the caller can tell a replay from a reuse.
   */
  createReceived(order: NewOrder): Promise<ReceivedOrder>;
  get(shopId: string, id: string): Promise<Order | null>;
  list(shopId: string, query: ListQuery): Promise<Order[]>;
  /**
   * In one transaction: if the order is still `received`, price it with `price`, reserve its stock all or
   * nothing, and mark it `placed`; or mark it `rejected` with the pricing's or the stock's reason.
   */
  place(order: OrderRef, price: (lines: { sku: string; quantity: number }[], catalog: Map<string, CatalogEntry>, currency: string) => PricingResult): Promise<PlacementOutcome>;
}

/**
 * Starts background work after the commit that made it necessary. Implementations make each call idempotent
 * per business key, and never reject: a start Redis refused resolves to false, and the reconciler makes it good.
 */
export interface JobPublisher {
  placeOrder(order: OrderRef): Promise<boolean>;
}
