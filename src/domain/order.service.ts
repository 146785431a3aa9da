import { DomainError, notFound } from './errors.js';
import { fingerprint, newOrderId } from './ids.js';
import type { Order, OrderStatus } from './order.js';
import type { OrderInput } from './order-input.js';
import { priceOrder } from './pricing.js';
import type { JobPublisher, ListQuery, OrderStore, PlacementOutcome } from './ports.js';
import type { PaymentJobs } from './payment-ports.js';
import type { OrderRef } from './keys.js';

export interface OrderDeps {
  orders: OrderStore;
  jobs: JobPublisher;
}

/**
 * Accepts an order. The order is durable in Postgres before this returns; the placement job is only a
 * nudge: if Redis loses it, the reconciler enqueues it again (see README, "Durability").
 */
export async function submitOrder(
  deps: OrderDeps,
  shopId: string,
  idempotencyKey: string,
  input: OrderInput,
): Promise<{ id: string; status: OrderStatus; created: boolean; createdAt: Date }> {
  const requestHash = fingerprint(input);
  const stored = await deps.orders.createReceived({ id: newOrderId(), shopId, idempotencyKey, requestHash, input });
  if (stored.requestHash !== requestHash) {
    throw new DomainError('idempotency_key_reused', 'this Idempotency-Key was already used with a different request body');
  }
  // Never throws: a placement Redis did not take is started later by the reconciler.
  if (stored.status === 'received') await deps.jobs.placeOrder({ shopId, orderId: stored.id });
  return { id: stored.id, status: stored.status, created: stored.created, createdAt: stored.createdAt };
}

/** A just-accepted order as GET will show it until placement: built from the input, no read needed. */
export function receivedOrder(id: string, shopId: string, input: OrderInput, createdAt: Date): Order {
  return {
    id,
    shopId,
    externalId: input.externalId ?? null,
    status: 'received',
    statusReason: null,
    currency: input.currency,
    totalMinor: null,
    items: input.items.map((i) => ({ sku: i.sku, quantity: i.quantity, unitPriceMinor: null, lineTotalMinor: null })),
    customer: input.customer,
    shippingAddress: input.shippingAddress,
    payment: { method: input.payment.method, flow: input.payment.flow, status: 'pending', action: null, expiresAt: null, events: [], providerReference: null, capturedMinor: 0, refundedMinor: 0, attempts: 0 },
    shipments: [],
    returns: [],
    createdAt,
    updatedAt: createdAt,
  };
}

export async function getOrder(orders: OrderStore, shopId: string, id: string): Promise<Order> {
  const order = await orders.get(shopId, id);
  if (!order) throw notFound('order');
  return order;
}

export async function listOrders(orders: OrderStore, shopId: string, query: ListQuery) {
  const page = await orders.list(shopId, { ...query, limit: query.limit + 1 });
  const data = page.slice(0, query.limit);
  return { data, nextCursor: page.length > query.limit ? data[data.length - 1]!.id : null };
}

/**
 * The `order-placement` job: idempotent, since the store only acts on an order that is still `received`.
 * A placed order's capture is enqueued here, also when a retry finds the order already placed (the run
 * that placed it may have died before enqueuing).
 */
export async function placeOrder(deps: { orders: OrderStore; payments: Pick<PaymentJobs, 'capture'> }, order: OrderRef): Promise<PlacementOutcome> {
  const result = await deps.orders.place(order, priceOrder);
  if (result.outcome === 'placed' || (result.outcome === 'skipped' && result.status === 'placed')) await deps.payments.capture(order);
  return result;
}
