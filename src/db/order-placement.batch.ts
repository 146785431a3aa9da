import type { Database, Transaction } from './database.js';
import type { EventOutbox } from './event-outbox.js';
import { isUuid } from '../domain/ids.js';
import { ORDER, type OrderStatus } from '../domain/order-lifecycle.js';
import { allocateStock } from '../domain/order-rules.js';
import type { OrderStore, PlacementOutcome } from '../domain/ports.js';
import type { CatalogEntry } from '../domain/pricing.js';
import type { OrderRef } from '../domain/keys.js';

export type PriceFn = Parameters<OrderStore['place']>[1];

interface LockedOrder {
  id: string;
  shopId: string;
  status: OrderStatus;
  currency: string;
  lines: Array<{ lineNo: number; sku: string; quantity: number }>;
}

type Priced = Extract<ReturnType<PriceFn>, { ok: true }>;

/**
 * Places a batch of orders in one transaction, with a handful of statements whatever its size: what a flash
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
  for (const o of await lockOrders(db, tx, ids, shopIds)) {
    if (ORDER.canTransition(o.status, 'placed')) received.push(o);
    else outcomes.set(o.id, { outcome: 'skipped', status: o.status });
  }
  if (!received.length) return outcomes;

  const catalogs = await readCatalogs(db, tx, received);
  const priced: Array<{ order: LockedOrder; pricing: Priced }> = [];
  for (const order of received) {
    const pricing = price(order.lines.map(({ sku, quantity }) => ({ sku, quantity })), catalogs.get(order.shopId) ?? new Map(), order.currency);
    if (pricing.ok) priced.push({ order, pricing });
    else outcomes.set(order.id, { outcome: 'rejected', reason: pricing.reason });
  }

  const shops = [...new Set(priced.map((p) => p.order.shopId))];
  const stock = await lockStock(db, tx, [...new Set(priced.flatMap((p) => [...p.pricing.reservations.keys()]))], shops);
  const { placed, outOfStock, taken } = allocateStock(priced.map((p) => ({ ...p, reservations: p.pricing.reservations })), stock);
  for (const p of outOfStock) outcomes.set(p.order.id, { outcome: 'rejected', reason: 'out_of_stock' });
  for (const p of placed) outcomes.set(p.order.id, { outcome: 'placed', totalMinor: p.pricing.totalMinor });

  await reserve(db, tx, taken, shops);
  await priceLines(db, tx, placed);
  await settleOrders(db, tx, received.map((o) => ({ id: o.id, shopId: o.shopId, outcome: outcomes.get(o.id)! })));
  await outbox.recordMany(tx, received.map((o) => ({ orderId: o.id, shopId: o.shopId, type: ORDER.eventFor(o.status, statusAfter(outcomes.get(o.id)!))! })));
  return outcomes;
}

/** The orders with their lines, row-locked in id order (the sort comes before the lock). */
async function lockOrders(db: Database, tx: Transaction, ids: string[], shopIds: string[]): Promise<LockedOrder[]> {
  const rows = await db.rows<{ id: string; shop_id: string; status: OrderStatus; currency: string; line_no: number; sku: string; quantity: number }>(
    `SELECT o.id, o.shop_id, o.status, o.currency, i.line_no, i.sku, i.quantity
       FROM orders o JOIN order_items i ON i.shop_id = o.shop_id AND i.order_id = o.id
      WHERE o.shop_id = ANY($2::uuid[]) AND o.id = ANY($1::uuid[])
      ORDER BY o.id, i.line_no
        FOR UPDATE OF o`,
    [ids, [...new Set(shopIds)]],
    tx,
  );
  const orders: LockedOrder[] = [];
  for (const r of rows) {
    let o = orders[orders.length - 1];
    if (o?.id !== r.id) orders.push((o = { id: r.id, shopId: r.shop_id, status: r.status, currency: r.currency, lines: [] }));
    o.lines.push({ lineNo: r.line_no, sku: r.sku, quantity: r.quantity });
  }
  return orders;
}

/** Each shop's catalog entries for the skus its orders name (unlocked, as a single order read it). */
async function readCatalogs(db: Database, tx: Transaction, orders: LockedOrder[]): Promise<Map<string, Map<string, CatalogEntry>>> {
  const pairs = new Map<string, { shopId: string; sku: string }>();
  for (const o of orders) for (const l of o.lines) pairs.set(JSON.stringify([o.shopId, l.sku]), { shopId: o.shopId, sku: l.sku });
  const rows = await db.rows<{ shop_id: string; sku: string; id: number; price_minor: number; currency: string }>(
    `SELECT p.shop_id, p.sku, p.id, p.price_minor, p.currency
       FROM products p JOIN unnest($1::uuid[], $2::text[]) AS k(shop_id, sku) ON p.shop_id = k.shop_id AND p.sku = k.sku`,
    [[...pairs.values()].map((p) => p.shopId), [...pairs.values()].map((p) => p.sku)],
    tx,
  );
  const catalogs = new Map<string, Map<string, CatalogEntry>>();
  for (const r of rows) {
    const catalog = catalogs.get(r.shop_id) ?? new Map<string, CatalogEntry>();
    catalog.set(r.sku, { productId: r.id, priceMinor: r.price_minor, currency: r.currency });
    catalogs.set(r.shop_id, catalog);
  }
  return catalogs;
}

/**
 * NO KEY UPDATE, the lock a plain UPDATE takes, in id order: it does not conflict with the KEY SHARE locks
 * that order_items rows take on their product through the foreign key.
 */
async function lockStock(db: Database, tx: Transaction, productIds: number[], shopIds: string[]): Promise<Map<number, number>> {
  if (!productIds.length) return new Map();
  const rows = await db.rows<{ id: number; stock: number }>(
    'SELECT id, stock FROM products WHERE shop_id = ANY($2::uuid[]) AND id = ANY($1::bigint[]) ORDER BY id FOR NO KEY UPDATE',
    [productIds, shopIds],
    tx,
  );
  return new Map(rows.map((r) => [r.id, r.stock]));
}

async function reserve(db: Database, tx: Transaction, taken: Map<number, number>, shopIds: string[]) {
  if (!taken.size) return;
  await db.rows(
    `UPDATE products p SET stock = p.stock - t.qty, reserved = p.reserved + t.qty, updated_at = now()
       FROM unnest($1::bigint[], $2::int[]) AS t(id, qty) WHERE p.shop_id = ANY($3::uuid[]) AND p.id = t.id`,
    [[...taken.keys()], [...taken.values()], shopIds],
    tx,
  );
}

async function priceLines(db: Database, tx: Transaction, placed: Array<{ order: LockedOrder; pricing: Priced }>) {
  // The pricing's lines are the order's, in line order.
  const lines = placed.flatMap(({ order, pricing }) => pricing.lines.map((l, k) => ({ orderId: order.id, shopId: order.shopId, lineNo: order.lines[k]!.lineNo, ...l })));
  if (!lines.length) return;
  await db.rows(
    `UPDATE order_items i SET product_id = x.product_id, unit_price_minor = x.unit, line_total_minor = x.total
       FROM unnest($1::uuid[], $2::int[], $3::bigint[], $4::bigint[], $5::bigint[], $6::uuid[]) AS x(order_id, line_no, product_id, unit, total, shop_id)
      WHERE i.shop_id = x.shop_id AND i.order_id = x.order_id AND i.line_no = x.line_no`,
    [lines.map((l) => l.orderId), lines.map((l) => l.lineNo), lines.map((l) => l.productId), lines.map((l) => l.unitPriceMinor), lines.map((l) => l.lineTotalMinor),
      lines.map((l) => l.shopId)],
    tx,
  );
}

const statusAfter = (o: PlacementOutcome): OrderStatus => (o.outcome === 'placed' ? 'placed' : 'rejected');

async function settleOrders(db: Database, tx: Transaction, orders: Array<{ id: string; shopId: string; outcome: PlacementOutcome }>) {
  await db.rows(
    `UPDATE orders o
        SET status = x.status, status_reason = x.reason, total_minor = x.total, updated_at = now(),
            stock_state = CASE WHEN x.status = 'placed' THEN 'reserved' ELSE o.stock_state END,
            placed_at = CASE WHEN x.status = 'placed' THEN now() ELSE o.placed_at END
       FROM unnest($1::uuid[], $2::text[], $3::text[], $4::bigint[], $6::uuid[]) AS x(id, status, reason, total, shop_id)
      WHERE o.shop_id = x.shop_id AND o.id = x.id AND o.status = ANY($5::text[])`,
    [
      orders.map((o) => o.id),
      orders.map((o) => statusAfter(o.outcome)),
      orders.map((o) => (o.outcome.outcome === 'rejected' ? o.outcome.reason : null)),
      orders.map((o) => (o.outcome.outcome === 'placed' ? o.outcome.totalMinor : null)),
      ORDER.fromStatesFor('placed', 'rejected'),
      orders.map((o) => o.shopId),
    ],
    tx,
  );
}
