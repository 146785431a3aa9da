import type { Database } from './database.js';
import type { EventOutbox } from './event-outbox.js';
import { FINAL } from './shipment-rows.js';
import { shopsOf } from '../domain/keys.js';

/**
 * The tracking tick's sweeps over open parcels, each a batch in one transaction that skips rows a poll is
 * writing (the next tick takes them): late parcels flagged, quiet exceptions given up.
 */

/** `ShipmentStore.flagDelays`: each flag recorded with its `shipment.delayed` event. */
export const flagDelays = (db: Database, outbox: EventOutbox, q: { now: Date; quietSince: Date; staleAfterMs: number; limit: number }) =>
  db.transaction(async (tx) => {
    // Shipment first, then its order, as a poll locks them; a parcel being polled is flagged next tick.
    const due = await db.rows<{ id: string; order_id: string; shopId: string }>(
      `SELECT id, order_id, shop_id AS "shopId" FROM shipments
        WHERE delayed_since IS NULL AND return_id IS NULL AND status <> ALL($3::text[]) AND (estimated_delivery_at <= $1 OR last_news_at <= $2)
        LIMIT $4 FOR UPDATE SKIP LOCKED`,
      [q.now, q.quietSince, FINAL, q.limit],
      tx,
    );
    if (!due.length) return 0;
    // The orders' row locks keep each order's events in order against its other changes.
    const shops = shopsOf(due);
    await db.rows(
      'SELECT id FROM orders WHERE shop_id = ANY($2::uuid[]) AND id = ANY($1::uuid[]) ORDER BY id FOR UPDATE', [[...new Set(due.map((d) => d.order_id))], shops], tx);
    const flagged = await db.rows<{ order_id: string; shop_id: string }>(
      `UPDATE shipments
          SET delayed_since = LEAST(CASE WHEN estimated_delivery_at <= $2 THEN estimated_delivery_at END,
                                    CASE WHEN last_news_at <= $3 THEN last_news_at + $4 * interval '1 millisecond' END)
        WHERE shop_id = ANY($5::uuid[]) AND id = ANY($1::uuid[])
        RETURNING order_id, shop_id`,
      [due.map((d) => d.id), q.now, q.quietSince, q.staleAfterMs, shops],
      tx,
    );
    await outbox.recordMany(tx, flagged.map((f) => ({ orderId: f.order_id, shopId: f.shop_id, type: 'shipment.delayed' as const })));
    return flagged.length;
  });

/**
 * `ShipmentStore.giveUpExceptions`: the quietest exceptions first, through their partial index. Giving up is
 * conditional, so a repeat (or a parcel that news revived meanwhile) changes nothing.
 */
export const giveUpExceptions = (db: Database, quietSince: Date, limit: number) =>
  db.transaction(async (tx) => {
    const quiet = await db.rows<{ id: string; shopId: string }>(
      `SELECT id, shop_id AS "shopId" FROM shipments WHERE status = 'exception' AND tracking_ended_at IS NULL AND last_news_at <= $1
        ORDER BY last_news_at LIMIT $2 FOR UPDATE SKIP LOCKED`,
      [quietSince, limit],
      tx,
    );
    if (!quiet.length) return 0;
    // The count trigger updates each shop's row at commit (one open parcel fewer): locked now, in one order, so
    // two sweeps cannot deadlock on them. Shipments then shop, as a poll that ends a parcel takes them.
    const shops = shopsOf(quiet);
    await db.rows('SELECT 1 FROM shops WHERE id = ANY($1::uuid[]) ORDER BY id FOR NO KEY UPDATE', [shops], tx);
    const ended = await db.rows(
      `UPDATE shipments SET tracking_ended_at = now(), tracking_end = 'given_up'
        WHERE shop_id = ANY($2::uuid[]) AND id = ANY($1::uuid[]) AND status = 'exception' AND tracking_ended_at IS NULL
        RETURNING id`,
      [quiet.map((q) => q.id), shops],
      tx,
    );
    return ended.length;
  });
