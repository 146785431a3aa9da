/**
 * How the hot tables' rows are found: by their shop and their id. The shop leads every hot table's primary key
 * (migration 000015), so a statement that names it runs on one shard of a database distributed by shop.
 */

/** An order, as jobs, repositories and the outbox name it. */
export interface OrderRef {
  shopId: string;
  orderId: string;
}

/** A row of one of a shop's hot tables other than its orders: a refund, an event, a shipment. */
export interface ShopRow {
  shopId: string;
  id: string;
}

/** The shops of a batch of rows, each once: with the ids, what finds them (`shop_id = ANY(...) AND id = ANY(...)`). */
export const shopsOf = (rows: ReadonlyArray<{ shopId: string }>) => [...new Set(rows.map((r) => r.shopId))];

/**
 * A row's shop from its id alone, across shops: for what arrives naming only an id (a provider's notification,
 * a job queued before jobs carried the shop). Each is one look in every shard of a distributed database, once;
 * what follows filters by the shop found.
 */
export interface ShopLookup {
  ofOrder(orderId: string): Promise<string | null>;
  ofRefund(refundId: string): Promise<string | null>;
  /** The shops of those shipments that exist, in no particular order. */
  ofShipments(ids: string[]): Promise<ShopRow[]>;
}
