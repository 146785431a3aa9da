import { randomUUID } from 'node:crypto';
import type { Database, Transaction } from './database.js';
import type { CarrierCode } from '../domain/carrier.js';
import { SHIPMENT, type ShipmentStatus } from '../domain/order-lifecycle.js';
import { assertUnderLimit } from '../domain/order-rules.js';
import type { PushState, ShipmentView } from '../domain/tracking-ports.js';

/** The shipments table's rows as the shipment and return repositories read and write them. */

/** The states nothing follows: no polls, no delays. */
export const FINAL = SHIPMENT.states.filter((st) => SHIPMENT.isFinal(st));

/**
 * Why we stopped following a parcel (migration 000017): its status stays the carrier's last word, and following
 * it is ours to decide. `given_up`: an exception without news for too long; `return_cancelled`: for good.
 */
export type TrackingEnd = 'given_up' | 'return_cancelled';

export interface ShipmentRow {
  id: string;
  shop_id: string;
  order_id: string;
  carrier: CarrierCode;
  tracking_number: string;
  status: ShipmentStatus;
  phone: string | null;
  from_city: string | null;
  to_city: string | null;
  estimated_delivery_at: Date | null;
  delivered_at: Date | null;
  delayed_since: Date | null;
  tracking_ended_at: Date | null;
  carrier_com: string | null;
  push_status: PushState | null;
}
export const COLUMNS =
  'id, shop_id, order_id, carrier, tracking_number, status, phone, from_city, to_city, estimated_delivery_at, delivered_at, delayed_since, ' +
  'tracking_ended_at, carrier_com, push_status';

export const toView = (r: ShipmentRow): ShipmentView => ({
  id: r.id,
  carrier: r.carrier,
  trackingNumber: r.tracking_number,
  status: r.status,
  estimatedDeliveryAt: r.estimated_delivery_at,
  deliveredAt: r.delivered_at,
  delayedSince: r.delayed_since,
  trackingEndedAt: r.tracking_ended_at,
  events: [],
});

/**
 * A new parcel row, outbound or (with `returnId`) a return's: due at once; the caller queues its first poll after
 * the commit, which claims it. The caller holds the order's row lock. Every parcel counts towards the shop's open
 * ones (OPEN_SHIPMENTS_PER_SHOP_MAX): read under the shop row's lock, taken after the order's as a poll that
 * delivers a parcel takes them (migration 000014), so concurrent creations cannot pass the limit together.
 */
export async function insertShipment(
  db: Database,
  tx: Transaction,
  s: {
    orderId: string; shopId: string; carrier: CarrierCode; trackingNumber: string; fromCity: string | null; toCity: string | null;
    phone: string | null; estimate: { at: Date; source: string }; returnId: string | null; openPerShop: number;
  },
): Promise<ShipmentRow> {
  await assertShopHasRoom(db, tx, s.shopId, s.openPerShop);
  const [row] = await db.rows<ShipmentRow>(
    `INSERT INTO shipments (id, order_id, shop_id, carrier, tracking_number, from_city, to_city, phone, next_poll_at,
                            estimated_delivery_at, estimate_source, return_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now(), $9, $10, $11) RETURNING ${COLUMNS}`,
    [randomUUID(), s.orderId, s.shopId, s.carrier, s.trackingNumber, s.fromCity, s.toCity, s.phone, s.estimate.at, s.estimate.source, s.returnId],
    tx,
  );
  return row!;
}

/** The shop's open parcels, read under its row's lock (taken after the order's): one more must fit. */
async function assertShopHasRoom(db: Database, tx: Transaction, shopId: string, openPerShop: number) {
  const [shop] = await db.rows<{ open: number }>('SELECT open_shipments AS open FROM shops WHERE id = $1 FOR NO KEY UPDATE', [shopId], tx);
  assertUnderLimit('openShipmentsPerShop', openPerShop, shop?.open ?? 0);
}

/**
 * The parcel of a cancelled return taken over by a new return of the same order: the buyer sends the goods of
 * both in the box that already carries that tracking number. Followed again from now (due at once, one of the
 * shop's open parcels again, so the limit applies as to a new one), with a fresh estimate and its quiet time
 * counted from now (a parcel quiet for weeks is not given up again before its first poll); the caller holds the
 * order's row lock. A parcel the carrier delivered meanwhile receives the new return at its first poll: the box
 * is back. Null when the parcel is not a cancelled return's.
 */
export async function adoptCancelledParcel(
  db: Database,
  tx: Transaction,
  s: { shopId: string; parcelId: string; returnId: string; estimate: { at: Date; source: string }; openPerShop: number },
): Promise<string | null> {
  await assertShopHasRoom(db, tx, s.shopId, s.openPerShop);
  const [row] = await db.rows<{ id: string }>(
    `UPDATE shipments SET return_id = $3, tracking_ended_at = NULL, tracking_end = NULL, next_poll_at = now(), delayed_since = NULL,
            last_news_at = now(), estimated_delivery_at = $4, estimate_source = $5, updated_at = now()
      WHERE shop_id = $1 AND id = $2 AND tracking_end = 'return_cancelled' RETURNING id`,
    [s.shopId, s.parcelId, s.returnId, s.estimate.at, s.estimate.source],
    tx,
  );
  return row?.id ?? null;
}
