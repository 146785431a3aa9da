import type { Database } from './database.js';
import { isUuid } from '../domain/ids.js';
import type { EventOutbox } from './event-outbox.js';
import type { Order, OrderStatus, PaymentAction, PaymentEvent, PaymentFlow, PaymentMethod, PaymentStatus } from '../domain/order.js';
import type { NewOrder, OrderStore, PlacementOutcome } from '../domain/ports.js';
import { TransientError } from '../domain/errors.js';
import { createBatcher, type Batcher } from '../batcher.js';
import { insertReceivedOrders } from './order-intake.batch.js';
import { placeOrders, type PriceFn } from './order-placement.batch.js';
import type { ShipmentView } from '../domain/tracking-ports.js';
import { RETURN_JSON, toReturnView } from './return-rows.js';
import type { OrderRef } from '../domain/keys.js';

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
  payment_flow: PaymentFlow;
  payment_status: PaymentStatus;
  payment_action: PaymentAction | null;
  payment_expires_at: Date | null;
  payment_events: PaymentEvent[];
  provider_reference: string | null;
  captured_minor: number;
  refunded_minor: number;
  payment_attempts: number;
  created_at: Date;
  updated_at: Date;
  items: Order['items'] | null;
  shipments: Array<Omit<ShipmentView, 'estimatedDeliveryAt' | 'deliveredAt' | 'delayedSince' | 'trackingEndedAt' | 'events'> & {
    estimatedDeliveryAt: string | null;
    delayedSince: string | null;
    trackingEndedAt: string | null;
    deliveredAt: string | null;
    events: Array<{ at: string; status: ShipmentView['status']; description: string; location: string | null }>;
  }> | null;
  returns: Parameters<typeof toReturnView>[0][] | null;
}

const SELECT_ORDER = `
  SELECT o.id, o.shop_id, o.external_id, o.status, o.status_reason, o.currency, o.total_minor, o.customer,
         o.shipping_address, o.payment_method, o.payment_flow, o.payment_status, o.payment_action, o.payment_expires_at,
         o.payment_events, o.provider_reference, o.captured_minor,
         o.refunded_minor, o.payment_attempts, o.created_at, o.updated_at,
         (SELECT json_agg(json_build_object('sku', i.sku, 'quantity', i.quantity, 'unitPriceMinor', i.unit_price_minor,
                                            'lineTotalMinor', i.line_total_minor) ORDER BY i.line_no)
            FROM order_items i WHERE i.shop_id = o.shop_id AND i.order_id = o.id) AS items,
         (SELECT json_agg(json_build_object(
                   'id', s.id, 'carrier', s.carrier, 'trackingNumber', s.tracking_number, 'status', s.status,
                   'estimatedDeliveryAt', s.estimated_delivery_at, 'deliveredAt', s.delivered_at, 'delayedSince', s.delayed_since,
                   'trackingEndedAt', s.tracking_ended_at,
                   'events', (SELECT coalesce(json_agg(json_build_object('at', e.at, 'status', e.status, 'description', e.description,
                                                                         'location', e.location) ORDER BY e.at, e.recorded_at), '[]')
                                FROM shipment_events e WHERE e.shop_id = s.shop_id AND e.shipment_id = s.id)) ORDER BY s.created_at)
            FROM shipments s WHERE s.shop_id = o.shop_id AND s.order_id = o.id AND s.return_id IS NULL) AS shipments,
         (SELECT json_agg(${RETURN_JSON} ORDER BY r.created_at) FROM returns r WHERE r.shop_id = o.shop_id AND r.order_id = o.id) AS returns
    FROM orders o`;

/** Orders stored per intake statement at most; 64 connections' worth of requests fit in one. */
const INTAKE_BATCH_MAX = 128;

/** A batch failure that is not the database's blip may be one item's fault: its items are retried one by one. */
const notTransient = (error: unknown) => !(error instanceof TransientError);

export function createOrderRepository(db: Database, outbox: EventOutbox): OrderStore {
  // Group commit for the intake: the orders that arrive while a batch is being stored go in the next one. A
  // value Postgres refuses fails the statement for the whole batch: each is then stored alone, so only its own
  // request fails. A transient failure is every request's (they answer 503 and are retried).
  const intake = createBatcher((batch: NewOrder[]) => insertReceivedOrders(db, batch), {
    maxBatch: INTAKE_BATCH_MAX,
    maxConcurrentFlushes: 2,
    retryAlone: notTransient,
  });
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

    place: batchedPlacement(db, outbox),

  };
}

/** Orders placed per transaction at most. */
const PLACEMENT_BATCH_MAX = 100;

/**
 * Group commit for placement: the orders this process's jobs submit while a batch is being placed go in the
 * next one (`placeOrders`), so a flash sale takes the hot product's row lock once per batch, not once per
 * order. A job waits for a flush, not for a pooled connection: only a flush holds one. `price` is the
 * domain's one pricing function; a batch is priced by one function, hence a batcher per function.
 */
function batchedPlacement(db: Database, outbox: EventOutbox): OrderStore['place'] {
  const batchers = new Map<PriceFn, Batcher<OrderRef, PlacementOutcome>>();
  const batcher = (price: PriceFn) => {
    // One order's fault (a bug, a value Postgres refuses) must not fail the batch's every job, retry after
    // retry: such a batch is placed again one order at a time, so only that order's job fails.
    const created = createBatcher((orders: OrderRef[]) => placeOrders(db, outbox, orders, price), {
      maxBatch: PLACEMENT_BATCH_MAX,
      maxConcurrentFlushes: 2,
      retryAlone: notTransient,
    });
    batchers.set(price, created);
    return created;
  };
  return (order, price) => (batchers.get(price) ?? batcher(price)).submit(order);
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
      flow: r.payment_flow,
      status: r.payment_status,
      action: r.payment_status === 'action_required' ? r.payment_action : null,
      expiresAt: (r.payment_status === 'action_required' || r.payment_status === 'pending') && r.payment_expires_at ? r.payment_expires_at.toISOString() : null,
      events: r.payment_events,
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
      delayedSince: sh.delayedSince ? new Date(sh.delayedSince) : null,
      trackingEndedAt: sh.trackingEndedAt ? new Date(sh.trackingEndedAt) : null,
      events: sh.events.map((e) => ({ ...e, at: new Date(e.at) })),
    })),
    returns: (r.returns ?? []).map(toReturnView),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}
