import { notFound } from '../domain/errors.js';
import type { DeliveryView, WebhookStore } from './webhook-ports.js';
import type { OrderRef } from '../domain/keys.js';

/** A shop's delivery log, newest first; `nextCursor` is the id of the page's last entry when more follow. */
export async function listDeliveries(
  store: WebhookStore,
  shopId: string,
  q: { limit: number; cursor?: string | undefined; eventId?: string | undefined },
): Promise<{ data: DeliveryView[]; nextCursor: string | null }> {
  const page = await store.listDeliveries(shopId, { limit: q.limit + 1, after: q.cursor, eventId: q.eventId });
  const data = page.slice(0, q.limit);
  return { data, nextCursor: page.length > q.limit ? data[data.length - 1]!.id : null };
}

/** Queues one more attempt of a delivery's event; another shop's delivery is not found. */
export async function requestRedelivery(
  deps: { store: WebhookStore; jobs: { redeliver(order: OrderRef, eventId: string): Promise<void> } },
  shopId: string,
  deliveryId: string,
): Promise<{ eventId: string; orderId: string }> {
  const found = await deps.store.findDelivery(shopId, deliveryId);
  if (!found) throw notFound('webhook delivery');
  await deps.jobs.redeliver({ shopId, orderId: found.orderId }, found.eventId);
  return found;
}
