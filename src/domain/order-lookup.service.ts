import { notFound } from './errors.js';
import { isUuid } from './ids.js';
import type { Order } from './order.js';
import type { OrderStore } from './ports.js';
import type { AdminOrderQuery, OrderJob, OrderJobInspector, OrderLookupStore, OrderSummary } from './order-lookup.ports.js';

export interface OrderLookupDeps {
  lookup: OrderLookupStore;
  orders: Pick<OrderStore, 'get'>;
  jobs: OrderJobInspector;
}

/** Any shop's orders, newest first, for operators: by shop, status, order id or `externalId`. */
export async function findOrders(deps: OrderLookupDeps, q: Omit<AdminOrderQuery, 'textIsId' | 'limit'> & { limit: number }) {
  const rows: OrderSummary[] = await deps.lookup.search({ ...q, textIsId: q.text !== undefined && isUuid(q.text), limit: q.limit + 1 });
  return { data: rows.slice(0, q.limit), nextCursor: rows.length > q.limit ? rows[q.limit - 1]!.id : null };
}

/** One order of any shop with where its work stands: each job it has in each queue, its state and last error. */
export async function lookupOrder(deps: OrderLookupDeps, orderId: string): Promise<{ order: Order; jobs: OrderJob[] }> {
  const shopId = isUuid(orderId) ? await deps.lookup.shopOf(orderId) : null;
  const order = shopId ? await deps.orders.get(shopId, orderId) : null;
  if (!order) throw notFound('order');
  return { order, jobs: await deps.jobs.jobsOf(await deps.lookup.workKeys({ shopId: order.shopId, orderId })) };
}
