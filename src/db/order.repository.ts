import type { Transaction } from 'sequelize';
import type { Database } from './database.js';
import { isUuid } from '../domain/ids.js';
import type { EventOutbox } from './event-outbox.js';
import type { Order, OrderStatus, PaymentMethod, PaymentStatus } from '../domain/order.js';
import type { NewOrder, OrderStore, PlacementOutcome, ReceivedOrder } from '../domain/ports.js';
import { TransientError } from '../domain/errors.js';
import { createBatcher } from '../batcher.js';
import { insertReceivedOrders } from './order-intake.batch.js';
import type { CatalogEntry } from '../domain/pricing.js';
import type { ShipmentView } from '../domain/tracking-ports.js';

interface OrderRow {
  id: string;
  shop_id: string;
  external_id: string | null;
  status: OrderStatus;
  status_reason: string | null;
  currency: string;
  total_minor: number | null;
  customer: Order['customer'];
  shipping_address: Order['shippingAddress'];
  payment_method: PaymentMethod;
  payment_status: PaymentStatus;
  provider_reference: string | null;
  captured_minor: number;
  refunded_minor: number;
  payment_attempts: number;
  created_at: Date;
  updated_at: Date;
  items: Order['items'] | null;
  shipments: Array<Omit<ShipmentView, 'estimatedDeliveryAt' | 'deliveredAt' | 'events'> & {
    estimatedDeliveryAt: string | null;
    deliveredAt: string | null;
    events: Array<{ at: string; status: ShipmentView['status']; description: string; location: string | null }>;
  }> | null;
}

const SELECT_ORDER = `
  SELECT o.id, o.shop_id, o.external_id, o.status, o.status_reason, o.currency, o.total_minor, o.customer,
         o.shipping_address, o.payment_method, o.payment_status, o.provider_reference, o.captured_minor,
         o.refunded_minor, o.payment_attempts, o.created_at, o.updated_at,
         (SELECT json_agg(json_build_object('sku', i.sku, 'quantity', i.quantity, 'unitPriceMinor', i.unit_price_minor,
                                            'lineTotalMinor', i.line_total_minor) ORDER BY i.line_no)
            FROM order_items i WHERE i.order_id = o.id) AS items,
         (SELECT json_agg(json_build_object(
                   'id', s.id, 'carrier', s.carrier, 'trackingNumber', s.tracking_number, 'status', s.status,
                   'estimatedDeliveryAt', s.estimated_delivery_at, 'deliveredAt', s.delivered_at,
                   'events', (SELECT coalesce(json_agg(json_build_object('at', e.at, 'status', e.status, 'description', e.description,
                                                                         'location', e.location) ORDER BY e.at, e.recorded_at), '[]')
                                FROM shipment_events e WHERE e.shipment_id = s.id)) ORDER BY s.created_at)
            FROM shipments s WHERE s.order_id = o.id) AS shipments
    FROM orders o`;

/** Orders stored per intake statement at most; 64 connections' worth of requests fit in one. */
const INTAKE_BATCH_MAX = 128;

const asError = (e: unknown) => (e instanceof Error ? e : new Error(String(e)));

/** Thrown inside the placement transaction to roll back a partial reservation. */
class OutOfStock extends Error {}

export function createOrderRepository(db: Database, outbox: EventOutbox): OrderStore {
  // Group commit for the intake: the orders that arrive while a batch is being stored go in the next one.
  const intake = createBatcher<NewOrder, ReceivedOrder | Error>(
    async (batch) => {
      try {
        return await insertReceivedOrders(db, batch);
      } catch (error) {
        // A value Postgres refuses fails the statement for the whole batch: store each alone, so only its own
        // request fails. A transient failure is every request's (they answer 503 and are retried).
        if (batch.length === 1 || error instanceof TransientError) throw error;
        return Promise.all(batch.map((o) => insertReceivedOrders(db, [o]).then((r) => r[0]!, (e: unknown) => asError(e))));
      }
    },
    { maxBatch: INTAKE_BATCH_MAX, maxConcurrentFlushes: 2 },
  );
  return {
    createReceived: (o) => intake.submit(o).then((r) => {
      if (r instanceof Error) throw r;
      return r;
    }),

    async get(shopId, id) {
      if (!isUuid(id)) return null;
      const [row] = await db.rows<OrderRow>(`${SELECT_ORDER} WHERE o.shop_id = $1 AND o.id = $2`, [shopId, id]);
      return row ? toOrder(row) : null;
    },

    async list(shopId, q) {
      const rows = await db.rows<OrderRow>(
        `${SELECT_ORDER}
          WHERE o.shop_id = $1 AND ($2::text IS NULL OR o.status = $2) AND ($3::uuid IS NULL OR o.id < $3)
          ORDER BY o.id DESC LIMIT $4`,
        [shopId, q.status ?? null, q.after ?? null, q.limit],
      );
      return rows.map(toOrder);
    },

    async place(orderId, price): Promise<PlacementOutcome> {
      try {
        return await db.transaction((tx) => placeInTransaction(db, outbox, tx, orderId, price));
      } catch (error) {
        if (!(error instanceof OutOfStock)) throw error;
        return db.transaction(async (tx) => {
          const [row] = await db.rows<{ shop_id: string }>(
            `UPDATE orders SET status = 'rejected', status_reason = 'out_of_stock', updated_at = now()
              WHERE id = $1 AND status = 'received' RETURNING shop_id`,
            [orderId],
            tx,
          );
          if (!row) return { outcome: 'skipped', status: 'rejected' } as const;
          await outbox.record(tx, { orderId, shopId: row.shop_id, type: 'order.rejected' });
          return { outcome: 'rejected', reason: 'out_of_stock' } as const;
        });
      }
    },

    async findStale(statuses, before, limit) {
      const rows = await db.rows<{ id: string; status: OrderStatus; payment_method: PaymentMethod }>(
        `SELECT id, status, payment_method FROM orders
          WHERE status = ANY($1::text[]) AND updated_at < $2 ORDER BY updated_at LIMIT $3`,
        [statuses, before, limit],
      );
      return rows.map((r) => ({ id: r.id, status: r.status, paymentMethod: r.payment_method }));
    },
  };
}

async function placeInTransaction(
  db: Database,
  outbox: EventOutbox,
  tx: Transaction,
  orderId: string,
  price: Parameters<OrderStore['place']>[1],
): Promise<PlacementOutcome> {
  const lines = await db.rows<{ shop_id: string; status: OrderStatus; currency: string; sku: string; quantity: number }>(
    `SELECT o.shop_id, o.status, o.currency, i.sku, i.quantity
       FROM orders o JOIN order_items i ON i.order_id = o.id
      WHERE o.id = $1 ORDER BY i.line_no FOR UPDATE OF o`,
    [orderId],
    tx,
  );
  const head = lines[0];
  if (!head) return { outcome: 'skipped', status: 'rejected' };
  if (head.status !== 'received') return { outcome: 'skipped', status: head.status };

  const products = await db.rows<{ id: number; sku: string; price_minor: number; currency: string }>(
    'SELECT id, sku, price_minor, currency FROM products WHERE shop_id = $1 AND sku = ANY($2::text[])',
    [head.shop_id, [...new Set(lines.map((l) => l.sku))]],
    tx,
  );
  const catalog = new Map<string, CatalogEntry>(
    products.map((p) => [p.sku, { productId: p.id, priceMinor: p.price_minor, currency: p.currency }]),
  );
  const priced = price(lines.map((l) => ({ sku: l.sku, quantity: l.quantity })), catalog, head.currency);
  if (!priced.ok) {
    await db.rows(
      `UPDATE orders SET status = 'rejected', status_reason = $2, updated_at = now() WHERE id = $1`,
      [orderId, priced.reason],
      tx,
    );
    await outbox.record(tx, { orderId, shopId: head.shop_id, type: 'order.rejected' });
    return { outcome: 'rejected', reason: priced.reason };
  }

  // The order's own rows first; the shared product rows last, so a hot SKU's row is locked only for the
  // reservation statement and the commit, not for the whole transaction.
  await db.rows(
    `WITH priced AS (
       UPDATE order_items i SET product_id = x.product_id, unit_price_minor = x.unit, line_total_minor = x.total
         FROM unnest($2::int[], $3::bigint[], $4::bigint[], $5::bigint[]) AS x(line_no, product_id, unit, total)
        WHERE i.order_id = $1 AND i.line_no = x.line_no
     )
     UPDATE orders SET status = 'placed', total_minor = $6, stock_state = 'reserved', placed_at = now(), updated_at = now() WHERE id = $1`,
    [
      orderId,
      priced.lines.map((_, k) => k + 1),
      priced.lines.map((l) => l.productId),
      priced.lines.map((l) => l.unitPriceMinor),
      priced.lines.map((l) => l.lineTotalMinor),
      priced.totalMinor,
    ],
    tx,
  );
  await outbox.record(tx, { orderId, shopId: head.shop_id, type: 'order.placed' });

  // All or nothing (a shortfall rolls the whole transaction back), rows locked in id order so two multi-line
  // orders cannot deadlock each other. NO KEY UPDATE, the lock a plain UPDATE takes: it does not conflict with
  // the KEY SHARE locks that other orders' order_items rows take on their product through the foreign key.
  const ids = [...priced.reservations.keys()];
  const reserved = await db.rows<{ id: number }>(
    `WITH want AS (SELECT * FROM unnest($1::bigint[], $2::int[]) AS w(id, qty)),
          locked AS (SELECT p.id FROM products p WHERE p.id = ANY($1::bigint[]) ORDER BY p.id FOR NO KEY UPDATE)
     UPDATE products p SET stock = p.stock - w.qty, reserved = p.reserved + w.qty, updated_at = now()
       FROM want w
      WHERE p.id = w.id AND p.id IN (SELECT id FROM locked) AND p.stock >= w.qty
     RETURNING p.id`,
    [ids, ids.map((id) => priced.reservations.get(id)!)],
    tx,
  );
  if (reserved.length !== ids.length) throw new OutOfStock();
  return { outcome: 'placed', totalMinor: priced.totalMinor };
}

function toOrder(r: OrderRow): Order {
  return {
    id: r.id,
    shopId: r.shop_id,
    externalId: r.external_id,
    status: r.status,
    statusReason: r.status_reason,
    currency: r.currency,
    totalMinor: r.total_minor,
    items: r.items ?? [],
    customer: r.customer,
    shippingAddress: r.shipping_address,
    payment: {
      method: r.payment_method,
      status: r.payment_status,
      providerReference: r.provider_reference,
      capturedMinor: r.captured_minor,
      refundedMinor: r.refunded_minor,
      attempts: r.payment_attempts,
    },
    // json_build_object renders timestamps as Postgres text; the API speaks ISO 8601 in UTC.
    shipments: (r.shipments ?? []).map((sh) => ({
      ...sh,
      estimatedDeliveryAt: sh.estimatedDeliveryAt ? new Date(sh.estimatedDeliveryAt) : null,
      deliveredAt: sh.deliveredAt ? new Date(sh.deliveredAt) : null,
      events: sh.events.map((e) => ({ ...e, at: new Date(e.at) })),
    })),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}
