import type { Database } from './database.js';
import { TransientError } from '../domain/errors.js';
import type { OrderStatus } from '../domain/order.js';
import type { NewOrder, ReceivedOrder } from '../domain/ports.js';

/** What a buyer-driven flow needs later (who pays, where the browser returns), as `payment_checkout`; null when nothing. */
export const checkoutOf = (p: NewOrder['input']['payment']) =>
  p.payer || p.returnUrl ? JSON.stringify({ ...(p.payer ? { payer: p.payer } : {}), ...(p.returnUrl ? { returnUrl: p.returnUrl } : {}) }) : null;

type Row = { id: string; shop_id: string; idempotency_key: string; request_hash: string; status: OrderStatus; created_at: Date };

/**
 * Stores a batch of accepted orders with their lines in one statement (one round trip, one commit), each
 * `received`, or finds the order an Idempotency-Key already names. Results are in input order; two items of
 * one batch with the same shop and key are one order (the second is a replay of the first). An item that
 * cannot be answered gets its own error; a failed statement fails the whole batch (nothing of it committed).
 */
export async function insertReceivedOrders(db: Database, orders: NewOrder[]): Promise<Array<ReceivedOrder | TransientError>> {
  const lines = orders.flatMap((o) => o.input.items.map((item, k) => ({ orderId: o.id, lineNo: k + 1, ...item })));
  const inserted = await db.rows<Row>(
    `WITH input AS (
       SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::jsonb[], $8::jsonb[],
                            $9::text[], $10::text[], $15::text[], $16::jsonb[])
         AS t(id, shop_id, idempotency_key, request_hash, external_id, currency, customer, shipping_address,
              payment_method, payment_token, payment_flow, payment_checkout)
     ), ins AS (
       INSERT INTO orders (id, shop_id, idempotency_key, request_hash, external_id, status, currency, customer,
                           shipping_address, payment_method, payment_token, payment_flow, payment_checkout)
       SELECT id, shop_id, idempotency_key, request_hash, external_id, 'received', currency, customer, shipping_address,
              payment_method, payment_token, payment_flow, payment_checkout
         FROM input ORDER BY shop_id, idempotency_key -- one lock order for all batches: no deadlocks
       ON CONFLICT (shop_id, idempotency_key) DO NOTHING
       RETURNING id, shop_id, idempotency_key, request_hash, status, created_at
     ), lines AS (
       INSERT INTO order_items (shop_id, order_id, line_no, sku, quantity)
       SELECT ins.shop_id, l.order_id, l.line_no, l.sku, l.quantity
         FROM unnest($11::uuid[], $12::int[], $13::text[], $14::int[]) AS l(order_id, line_no, sku, quantity)
         JOIN ins ON ins.id = l.order_id
     )
     SELECT * FROM ins`,
    [
      orders.map((o) => o.id),
      orders.map((o) => o.shopId),
      orders.map((o) => o.idempotencyKey),
      orders.map((o) => o.requestHash),
      orders.map((o) => o.input.externalId ?? null),
      orders.map((o) => o.input.currency),
      orders.map((o) => JSON.stringify(o.input.customer)),
      orders.map((o) => JSON.stringify(o.input.shippingAddress)),
      orders.map((o) => o.input.payment.method),
      orders.map((o) => o.input.payment.token),
      lines.map((l) => l.orderId),
      lines.map((l) => l.lineNo),
      lines.map((l) => l.sku),
      lines.map((l) => l.quantity),
      orders.map((o) => o.input.payment.flow),
      orders.map((o) => checkoutOf(o.input.payment)),
    ],
  );
  const byId = new Map(inserted.map((r) => [r.id, r]));
  const taken = orders.filter((o) => !byId.has(o.id));
  // Keys already taken (perhaps by a request that committed while this batch waited): read them afresh.
  const prior = taken.length === 0 ? [] : await db.rows<Row>(
    `SELECT o.id, o.shop_id, o.idempotency_key, o.request_hash, o.status, o.created_at
       FROM orders o JOIN unnest($1::uuid[], $2::text[]) AS k(shop_id, idempotency_key)
         ON o.shop_id = k.shop_id AND o.idempotency_key = k.idempotency_key`,
    [taken.map((o) => o.shopId), taken.map((o) => o.idempotencyKey)],
  );
  const byKey = new Map(prior.map((r) => [`${r.shop_id} ${r.idempotency_key}`, r]));
  return orders.map((o) => {
    const own = byId.get(o.id);
    const row = own ?? byKey.get(`${o.shopId} ${o.idempotencyKey}`);
    // Not inserted and not found: the order holding the key was deleted between the two statements.
    if (!row) return new TransientError('dependency_unavailable', 'the order could not be stored; try again', { retryAfterSeconds: 1 });
    return { id: row.id, requestHash: row.request_hash, status: row.status, created: Boolean(own), createdAt: row.created_at };
  });
}
