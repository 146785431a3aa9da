import type { Database, Transaction } from './database.js';
import type { ReturnView } from '../domain/return-ports.js';
import type { ShopRow } from '../domain/keys.js';

/** The returns table as the return and order repositories read it: one JSON expression, and the domain's view of it. */

/** A return as JSON, with its lines, its refund and its parcel: one expression over `returns r`. */
export const RETURN_JSON = `json_build_object(
  'id', r.id, 'orderId', r.order_id, 'status', r.status, 'reason', r.reason, 'restock', r.restock,
  'amountMinor', r.amount_minor, 'currency', r.currency, 'receivedBy', r.received_by, 'receivedAt', r.received_at,
  'cancelledAt', r.cancelled_at, 'cancelReason', r.cancel_reason, 'createdAt', r.created_at,
  'items', (SELECT json_agg(json_build_object('sku', ri.sku, 'quantity', ri.quantity, 'unitPriceMinor', ri.unit_price_minor) ORDER BY ri.sku)
              FROM return_items ri WHERE ri.shop_id = r.shop_id AND ri.return_id = r.id),
  'refund', (SELECT json_build_object('id', f.id, 'amountMinor', f.amount_minor, 'status', f.status) FROM refunds f WHERE f.shop_id = r.shop_id AND f.id = r.refund_id),
  'parcel', (SELECT json_build_object('id', s.id, 'carrier', s.carrier, 'trackingNumber', s.tracking_number, 'status', s.status,
                                      'estimatedDeliveryAt', s.estimated_delivery_at, 'deliveredAt', s.delivered_at,
                                      'trackingEndedAt', s.tracking_ended_at)
               FROM shipments s WHERE s.shop_id = r.shop_id AND s.return_id = r.id))`;

type Json<T> = { [K in keyof T]: T[K] extends Date ? string : T[K] extends Date | null ? string | null : T[K] extends object | null ? unknown : T[K] };
export type ReturnJson = Json<Omit<ReturnView, 'parcel'>> & { parcel: null | (Json<NonNullable<ReturnView['parcel']>>) };

const date = (s: string | null) => (s === null ? null : new Date(s));

/** `RETURN_JSON` as the domain's view. */
export function toReturnView(j: ReturnJson): ReturnView {
  return {
    ...(j as unknown as ReturnView),
    amountMinor: Number(j.amountMinor),
    items: ((j.items as ReturnView['items'] | null) ?? []).map((i) => ({ ...i, unitPriceMinor: Number(i.unitPriceMinor) })),
    refund: j.refund === null ? null : { ...(j.refund as NonNullable<ReturnView['refund']>), amountMinor: Number((j.refund as { amountMinor: number }).amountMinor) },
    parcel: j.parcel === null ? null : {
      ...j.parcel, estimatedDeliveryAt: date(j.parcel.estimatedDeliveryAt), deliveredAt: date(j.parcel.deliveredAt), trackingEndedAt: date(j.parcel.trackingEndedAt),
    } as ReturnView['parcel'],
    receivedAt: date(j.receivedAt),
    cancelledAt: date(j.cancelledAt),
    createdAt: new Date(j.createdAt),
  };
}

export async function loadReturn(db: Database, { shopId, id }: ShopRow, tx?: Transaction): Promise<ReturnView | null> {
  const [row] = await db.rows<{ r: ReturnJson }>(`SELECT ${RETURN_JSON} AS r FROM returns r WHERE r.shop_id = $2 AND r.id = $1`, [id, shopId], tx);
  return row ? toReturnView(row.r) : null;
}
