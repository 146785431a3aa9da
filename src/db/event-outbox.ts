import type { Database, Transaction } from './database.js';
import { newOrderId } from '../domain/ids.js';
import type { OrderEventType } from '../domain/order-lifecycle.js';
import type { OrderRef } from '../domain/keys.js';

/**
 * The transactional outbox as the repositories use it: an event is written in the same transaction as the
 * state change it reports, and once that transaction commits, `notify` starts its delivery. A notify that
 * is lost (the process dies right after the commit) is made good by the reconciler.
 */
/** `hasWebhook: false`: the caller already knows the shop takes no webhooks; the event is only counted. */
export type OutboxEvent = { orderId: string; shopId: string; type: OrderEventType; hasWebhook?: boolean };

export interface EventOutbox {
  record(tx: Transaction, e: { orderId: string; shopId: string; type: OrderEventType }): Promise<void>;
  /** `record` for many events in one statement, in the order given (a batch of orders placed together). */
  recordMany(tx: Transaction, events: ReadonlyArray<OutboxEvent>): Promise<void>;
}

/**
 * `committed` hears every event once its transaction commits, whether or not the shop takes webhooks (only
 * those that do get a row in the outbox): the order counts of /metrics.
 */
export function createEventOutbox(
  db: Database,
  notify: (order: OrderRef) => void = () => undefined,
  committed: (type: OrderEventType) => void = () => undefined,
): EventOutbox {
  const recordMany: EventOutbox['recordMany'] = async (tx, events) => {
    const stored = events.filter((e) => e.hasWebhook !== false);
    const orders = new Map((await recordOrderEvents(db, tx, stored)).map((r) => [r.orderId, r.shopId]));
    if (!events.length) return;
    tx.afterCommit(() => {
      orders.forEach((shopId, orderId) => notify({ shopId, orderId }));
      for (const e of events) committed(e.type);
    });
  };
  return { record: (tx, e) => recordMany(tx, [e]), recordMany };
}

/**
 * Records an event in the outbox, inside the caller's transaction: the event exists if and only if the state
 * change it reports committed. After the commit, the caller enqueues delivery (`webhookJobs(...).deliver`); if
 * that enqueue is lost, the event stays `pending` for the reconciler to find.
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
  const [row] = await recordOrderEvents(db, tx, [e]);
  return row ?? null;
}

/**
 * `recordOrderEvent` for many events in one statement, under the same rules (the caller holds every order's
 * row lock). Events get their `seq` in the order given, so an order's events keep their order; returns the
 * recorded ones (those of shops with a webhookUrl), in that order.
 */
export async function recordOrderEvents(
  db: Database,
  tx: Transaction,
  events: ReadonlyArray<{ orderId: string; shopId: string; type: OrderEventType }>,
): Promise<Array<{ id: string; seq: number; orderId: string; shopId: string }>> {
  if (!events.length) return [];
  return db.rows<{ id: string; seq: number; orderId: string; shopId: string }>(
    `INSERT INTO order_events (id, order_id, shop_id, type)
     SELECT e.id, e.order_id, e.shop_id, e.type
       FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[]) WITH ORDINALITY AS e(id, order_id, shop_id, type, n)
      WHERE EXISTS (SELECT 1 FROM shops s WHERE s.id = e.shop_id AND s.webhook_url IS NOT NULL)
      ORDER BY e.n
     RETURNING id, seq, order_id AS "orderId", shop_id AS "shopId"`,
    [events.map(() => newOrderId()), events.map((e) => e.orderId), events.map((e) => e.shopId), events.map((e) => e.type)],
    tx,
  );
}
