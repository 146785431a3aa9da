import type { Database, Transaction } from './database.js';
import type { EventOutbox } from './event-outbox.js';
import { isUuid } from '../domain/ids.js';
import { ORDER, type OrderStatus } from '../domain/order-lifecycle.js';
import { allocateStock } from '../domain/order-rules.js';
import type { OrderStore, PlacementOutcome } from '../domain/ports.js';
import type { CatalogEntry } from '../domain/pricing.js';
import { shopsOf, type OrderRef } from '../domain/keys.js';

export type PriceFn = Parameters<OrderStore['place']>[1];

interface LockedOrder {
  id: string;
  shopId: string;
  status: OrderStatus;
  currency: string;
  hasWebhook: boolean;
  lines: Array<{ lineNo: number; sku: string; quantity: number }>;
}

type Priced = Extract<ReturnType<PriceFn>, { ok: true }>;

/**
 * Places a batch of orders in one transaction, with two statements whatever its size (a third for the outbox
 * when a shop of the batch takes webhooks): what a flash
 * sale needs, where one transaction per order queues every order behind the hot product's row lock.
 *
 * Each order still `received` is priced with `price` and either placed (its stock reserved all or nothing)
 * or rejected; stock goes to the orders in id order, which for UUIDv7 ids is arrival order, and an order that
 * does not fit is rejected `out_of_stock` while a later, smaller one may still fit. Locks are taken as
 * everywhere else: orders before products, each in id order, so batches of different workers (and the
 * single-order transactions of payments and shipments) queue behind each other instead of deadlocking.
 *
 * Returns one outcome per input order, in order. An order given twice acts once: its later copies are `skipped`
 * with the status the first left, as a second run would find it. Orders are found by shop and id: an id under
 * another shop is not found.
 */
export async function placeOrders(db: Database, outbox: EventOutbox, orders: OrderRef[], price: PriceFn): Promise<PlacementOutcome[]> {
  const valid = new Map(orders.filter((o) => isUuid(o.orderId) && isUuid(o.shopId)).map((o) => [o.orderId.toLowerCase(), o.shopId.toLowerCase()]));
  const ids = [...valid.keys()];
  const decided = ids.length
    ? await db.transaction((tx) => placeInTransaction(db, outbox, tx, ids, [...valid.values()], price))
    : new Map<string, PlacementOutcome>();
  const seen = new Set<string>();
  return orders.map(({ orderId: raw }): PlacementOutcome => {
    const id = raw.toLowerCase();
    // As today for one order: an id that is not an order's is reported as if it had been rejected.
    const outcome = decided.get(id) ?? { outcome: 'skipped', status: 'rejected' };
    if (!seen.has(id) || outcome.outcome === 'skipped') {
      seen.add(id);
      return outcome;
    }
    return { outcome: 'skipped', status: outcome.outcome === 'placed' ? 'placed' : 'rejected' };
  });
}

async function placeInTransaction(db: Database, outbox: EventOutbox, tx: Transaction, ids: string[], shopIds: string[], price: PriceFn) {
  const outcomes = new Map<string, PlacementOutcome>();
  const received: LockedOrder[] = [];
  const { orders, catalogs, stock } = await lockOrdersAndStock(db, tx, ids, [...new Set(shopIds)]);
  for (const o of orders) {
    if (ORDER.canTransition(o.status, 'placed')) received.push(o);
    else outcomes.set(o.id, { outcome: 'skipped', status: o.status });
  }
  if (!received.length) return outcomes;

  const priced: Array<{ order: LockedOrder; pricing: Priced }> = [];
  for (const order of received) {
    const pricing = price(order.lines.map(({ sku, quantity }) => ({ sku, quantity })), catalogs.get(order.shopId) ?? new Map(), order.currency);
    if (pricing.ok) priced.push({ order, pricing });
    else outcomes.set(order.id, { outcome: 'rejected', reason: pricing.reason });
  }

  const { placed, outOfStock, taken } = allocateStock(priced.map((p) => ({ ...p, reservations: p.pricing.reservations })), stock);
  for (const p of outOfStock) outcomes.set(p.order.id, { outcome: 'rejected', reason: 'out_of_stock' });
  for (const p of placed) outcomes.set(p.order.id, { outcome: 'placed', totalMinor: p.pricing.totalMinor });

  await writePlacements(db, tx, taken, placed, received.map((o) => ({ id: o.id, shopId: o.shopId, outcome: outcomes.get(o.id)! })));
  // A batch whose shops take no webhooks pays no outbox statement (its events are still counted).
  await outbox.recordMany(tx, received.map((o) => ({ orderId: o.id, shopId: o.shopId, type: ORDER.eventFor(o.status, statusAfter(outcomes.get(o.id)!))!, hasWebhook: o.hasWebhook })));
  return outcomes;
}

/**
 * One round trip for everything placement reads: the orders with their lines, row-locked in id order (the sort
 * comes before the lock), then the catalog entries their lines name (only those of orders still to place),
 * locked in id order too: orders before products, each in id order, as everywhere else. NO KEY UPDATE, the lock
 * a plain UPDATE takes, does not conflict with the KEY SHARE locks that order_items rows take on their product
 * through the foreign key. A product is locked even when its order then fails pricing (a currency mismatch):
 * harmless, and rare. `(SELECT count(*) FROM l) >= 0` is an init plan run before the first product is read, so
 * every order is locked first whatever plan the planner picks (a nested-loop semi-join could otherwise lock a
 * product after only the first order).
 */
async function lockOrdersAndStock(db: Database, tx: Transaction, ids: string[], shopIds: string[]) {
  const rows = await db.rows<{
    id: string; shop_id: string; status: OrderStatus; currency: string; has_webhook: boolean; line_no: number; sku: string; quantity: number;
    product_id: number | null; price_minor: number; product_currency: string; stock: number;
  }>(
    `WITH o AS (
       SELECT id, shop_id, status, currency FROM orders WHERE shop_id = ANY($3::uuid[]) AND id = ANY($1::uuid[]) ORDER BY id FOR UPDATE),
     l AS (
       SELECT o.id, o.shop_id, o.status, o.currency, i.line_no, i.sku, i.quantity FROM o JOIN order_items i ON i.shop_id = o.shop_id AND i.order_id = o.id),
     p AS (
       SELECT p.id, p.shop_id, p.sku, p.price_minor, p.currency, p.stock FROM products p
        WHERE (SELECT count(*) FROM l) >= 0 AND p.shop_id = ANY($3::uuid[]) AND (p.shop_id, p.sku) IN (SELECT l.shop_id, l.sku FROM l WHERE l.status = ANY($2::text[]))
        ORDER BY p.id FOR NO KEY UPDATE)
     SELECT l.id, l.shop_id, l.status, l.currency, l.line_no, l.sku, l.quantity,
            EXISTS (SELECT 1 FROM shops s WHERE s.id = l.shop_id AND s.webhook_url IS NOT NULL) AS has_webhook,
            p.id AS product_id, p.price_minor, p.currency AS product_currency, p.stock
       FROM l LEFT JOIN p ON p.shop_id = l.shop_id AND p.sku = l.sku
      ORDER BY l.id, l.line_no`,
    [ids, ORDER.fromStatesFor('placed'), shopIds],
    tx,
  );
  const orders: LockedOrder[] = [];
  const catalogs = new Map<string, Map<string, CatalogEntry>>();
  const stock = new Map<number, number>();
  for (const r of rows) {
    let o = orders[orders.length - 1];
    if (o?.id !== r.id) orders.push((o = { id: r.id, shopId: r.shop_id, status: r.status, currency: r.currency, hasWebhook: r.has_webhook, lines: [] }));
    o.lines.push({ lineNo: r.line_no, sku: r.sku, quantity: r.quantity });
    if (r.product_id === null) continue;
    const catalog = catalogs.get(r.shop_id) ?? new Map<string, CatalogEntry>();
    catalog.set(r.sku, { productId: r.product_id, priceMinor: r.price_minor, currency: r.product_currency });
    catalogs.set(r.shop_id, catalog);
    stock.set(r.product_id, r.stock);
  }
  return { orders, catalogs, stock };
}

/**
 * Every write of a placed batch in one statement: the stock taken (each product once), the placed orders'
 * lines priced, and every order's new status (a conditional move from the states placement starts from).
 */
async function writePlacements(db: Database, tx: Transaction, taken: Map<number, number>, placed: Array<{ order: LockedOrder; pricing: Priced }>, orders: Array<{ id: string; shopId: string; outcome: PlacementOutcome }>) {
  // The pricing's lines are the order's, in line order.
  const lines = placed.flatMap(({ order, pricing }) => pricing.lines.map((l, k) => ({ orderId: order.id, shopId: order.shopId, lineNo: order.lines[k]!.lineNo, ...l })));
  const shops = shopsOf(orders);
  await db.rows(
    `WITH reserve AS (
       UPDATE products p SET stock = p.stock - t.qty, reserved = p.reserved + t.qty, updated_at = now()
         FROM unnest($1::bigint[], $2::int[]) AS t(id, qty) WHERE p.shop_id = ANY($13::uuid[]) AND p.id = t.id),
     price_lines AS (
       UPDATE order_items i SET product_id = x.product_id, unit_price_minor = x.unit, line_total_minor = x.total
         FROM unnest($3::uuid[], $4::int[], $5::bigint[], $6::bigint[], $7::bigint[], $14::uuid[]) AS x(order_id, line_no, product_id, unit, total, shop_id)
        WHERE i.shop_id = x.shop_id AND i.order_id = x.order_id AND i.line_no = x.line_no)
     UPDATE orders o
        SET status = x.status, status_reason = x.reason, total_minor = x.total, updated_at = now(),
            stock_state = CASE WHEN x.status = 'placed' THEN 'reserved' ELSE o.stock_state END,
            placed_at = CASE WHEN x.status = 'placed' THEN now() ELSE o.placed_at END
       FROM unnest($8::uuid[], $9::text[], $10::text[], $11::bigint[], $15::uuid[]) AS x(id, status, reason, total, shop_id)
      WHERE o.shop_id = x.shop_id AND o.id = x.id AND o.status = ANY($12::text[])`,
    [
      [...taken.keys()], [...taken.values()],
      lines.map((l) => l.orderId), lines.map((l) => l.lineNo), lines.map((l) => l.productId), lines.map((l) => l.unitPriceMinor), lines.map((l) => l.lineTotalMinor),
      orders.map((o) => o.id),
      orders.map((o) => statusAfter(o.outcome)),
      orders.map((o) => (o.outcome.outcome === 'rejected' ? o.outcome.reason : null)),
      orders.map((o) => (o.outcome.outcome === 'placed' ? o.outcome.totalMinor : null)),
      ORDER.fromStatesFor('placed', 'rejected'),
      shops, lines.map((l) => l.shopId), orders.map((o) => o.shopId),
    ],
    tx,
  );
}

const statusAfter = (o: PlacementOutcome): OrderStatus => (o.outcome === 'placed' ? 'placed' : 'rejected');
