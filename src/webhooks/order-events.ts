import type { Transaction } from 'sequelize';
import type { Database } from '../db/database.js';
import { newOrderId } from '../domain/ids.js';

/** The events a shop hears about (CONTRACT.md section 8). */
export const ORDER_EVENT_TYPES = [
  'order.placed', 'order.rejected', 'order.paid', 'order.payment_failed', 'order.shipped', 'shipment.updated',
  'order.delivered', 'order.cancelled', 'order.refunded',
] as const;
export type OrderEventType = (typeof ORDER_EVENT_TYPES)[number];

/**
 * Records an event in the outbox, inside the caller's transaction: the event exists if and only if the state
 * change it reports committed. After the commit, the caller enqueues delivery (`webhookJobs(...).deliver`); if
 * that enqueue is lost, the event stays `pending` for a repair sweep to find (`repairWebhookDeliveries`).
 *
 * Call it while holding the order's row lock (`SELECT ... FOR UPDATE`), as every state change does: `seq`
 * is taken at insert, so two unserialised transactions of one order could commit their events out of order.
 * Only shops with a webhookUrl have their events recorded: for the others there is nothing to deliver, and an
 * order's pipeline should not pay for an outbox row, a job and its bookkeeping per step. Returns null then.
 */
export async function recordOrderEvent(
  db: Database,
  tx: Transaction,
  e: { orderId: string; shopId: string; type: OrderEventType },
): Promise<{ id: string; seq: number } | null> {
  const [row] = await db.rows<{ id: string; seq: number }>(
    `INSERT INTO order_events (id, order_id, shop_id, type)
     SELECT $1, $2, $3, $4 WHERE EXISTS (SELECT 1 FROM shops WHERE id = $3 AND webhook_url IS NOT NULL)
     RETURNING id, seq`,
    [newOrderId(), e.orderId, e.shopId, e.type],
    tx,
  );
  return row ?? null;
}
