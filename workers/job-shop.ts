import type { OrderRef, ShopLookup, ShopRow } from '../src/domain/keys.js';

/**
 * The order a job is about, found by its shop as every hot statement finds it. Jobs carry their shop since the
 * hot tables are keyed by it; one queued before (no `shopId`) has its shop looked up once by the order's id, the
 * compatibility path. Null: there is no such order.
 */
export async function orderOfJob(shops: ShopLookup, p: { orderId: string; shopId?: string | undefined }): Promise<OrderRef | null> {
  const shopId = p.shopId ?? (await shops.ofOrder(p.orderId));
  return shopId ? { shopId, orderId: p.orderId } : null;
}

/** `orderOfJob` for a refund's job. */
export async function refundOfJob(shops: ShopLookup, p: { refundId: string; shopId?: string | undefined }): Promise<ShopRow | null> {
  const shopId = p.shopId ?? (await shops.ofRefund(p.refundId));
  return shopId ? { shopId, id: p.refundId } : null;
}

/** `orderOfJob` for a poll's batch of shipments, in the batch's order (those that no longer exist left out). */
export async function shipmentsOfJob(shops: ShopLookup, p: { shipmentIds: string[]; shopIds?: string[] | undefined }): Promise<ShopRow[]> {
  const given = p.shopIds;
  if (given && given.length === p.shipmentIds.length) return p.shipmentIds.map((id, i) => ({ id, shopId: given[i]! }));
  const found = new Map((await shops.ofShipments(p.shipmentIds)).map((s) => [s.id, s.shopId]));
  return p.shipmentIds.flatMap((id) => (found.has(id) ? [{ id, shopId: found.get(id)! }] : []));
}
