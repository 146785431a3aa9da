import type { Database } from './database.js';
import type { EventOutbox } from './event-outbox.js';
import { FINAL, type TrackingEnd } from './shipment-rows.js';
import { receiveReturnIn } from './return.repository.js';
import { ORDER, SHIPMENT, type ShipmentStatus } from '../domain/order-lifecycle.js';
import type { ShipmentUpdate } from '../domain/tracking-ports.js';
import type { ShopRow } from '../domain/keys.js';

/** How far ahead of our clock a carrier's event may be dated and still be believed (clocks and zones differ a little). */
const CLOCK_SLACK_MS = 10 * 60_000;

/**
 * `ShipmentStore.applyPoll`: a carrier's answer (polled or pushed) stored on its shipment, under the shipment's
 * row lock: its new events, its status only where the lifecycle lets it move, its estimate and delay, and the
 * shop's events (`shipment.updated`, the order `delivered`, or a return's receipt) in the same transaction.
 */
export const applyPoll = (db: Database, outbox: EventOutbox, { shopId, id }: ShopRow, u: ShipmentUpdate) =>
  db.transaction(async (tx) => {
    const [before] = await db.rows<{
      order_id: string; shop_id: string; status: ShipmentStatus; estimated_delivery_at: Date | null; estimate_source: string | null;
      return_id: string | null; tracking_end: TrackingEnd | null; newest_event_at: Date | null;
    }>(
      // A parcel from before migration 000018 learns its newest event from its history here, once (then it is stored).
      `SELECT order_id, shop_id, status, estimated_delivery_at, estimate_source, return_id, tracking_end,
              coalesce(newest_event_at, (SELECT max(at) FROM shipment_events e WHERE e.shop_id = $2 AND e.shipment_id = $1)) AS newest_event_at
         FROM shipments WHERE shop_id = $2 AND id = $1 FOR UPDATE`,
      [id, shopId],
      tx,
    );
    // A parcel the table lets go no further (delivered, returned to sender) keeps what it has; so does the
    // parcel of a cancelled return, whose delivery must not receive it (its cancel holds this row's lock too).
    const moves = before && before.tracking_end !== 'return_cancelled'
      && (before.status === u.snapshot.status || SHIPMENT.canTransition(before.status, u.snapshot.status));
    if (!moves) return { changed: false };
    const ev = u.snapshot.events;
    const newest = ev.reduce<Date | null>((m, e) => (m && m >= e.at ? m : e.at), null);
    // A stored event dated in the future is the carrier's mistake, not a bar: a full resend must be able to correct it.
    const known = before.newest_event_at && before.newest_event_at.getTime() <= Date.now() + CLOCK_SLACK_MS ? before.newest_event_at : null;
    const tie = known !== null && newest !== null && newest.getTime() === known.getTime();
    const [{ n: storedAtTie } = { n: 0 }] = tie
      ? await db.rows<{ n: number }>('SELECT count(*)::int AS n FROM shipment_events WHERE shop_id = $2 AND shipment_id = $1 AND at = $3', [id, shopId, known], tx)
      : [];
    const inserted = ev.length
      ? await db.rows<{ at: Date }>(
          `INSERT INTO shipment_events (shop_id, shipment_id, at, status, description, location)
           SELECT $6, $1, t.at, t.status, t.description, t.location
             FROM unnest($2::timestamptz[], $3::text[], $4::text[], $5::text[]) AS t(at, status, description, location)
           ON CONFLICT DO NOTHING RETURNING at`,
          [id, ev.map((e) => e.at), ev.map((e) => e.status), ev.map((e) => e.description), ev.map((e) => e.location), shopId],
          tx,
        )
      : [];
    // Older than what the parcel has (a push sent again, a poll's answer stored after a newer push): the carrier's
    // word then is not its latest, so the status, estimate, delay and time of last news stay as they are, and the
    // shop hears nothing. Its events the parcel lacked still join the history, where they sort among the others
    // by time: they are old news the shop can read, not a move. The poll itself counts as done.
    // An answer as new as the parcel's newest event (carriers give times to the minute: arrived and out for delivery
    // may share one) is news only when it holds at least the scans of that minute the parcel has, one of them new;
    // that minute's older answer sent again, or reworded, is stale.
    const atTie = (at: Date) => tie && at.getTime() === known.getTime();
    const staleTie = tie && (ev.filter((e) => atTie(e.at)).length < storedAtTie || !inserted.some((r) => atTie(r.at)));
    const stale = known && (!newest || newest < known || staleTie);
    if (stale) {
      await db.rows(
        `UPDATE shipments SET picked_up_at = coalesce(picked_up_at, $2), next_poll_at = $3, last_polled_at = now(), poll_failures = 0
          WHERE shop_id = $4 AND id = $1`,
        [id, u.pickedUpAt, u.nextPollAt, shopId],
        tx,
      );
      return { changed: false };
    }
    const keepCarrier = u.keepCarrierEstimate && before.estimate_source === 'carrier' && before.estimated_delivery_at;
    const estimate = u.estimate && !keepCarrier ? u.estimate : { at: before.estimated_delivery_at, source: before.estimate_source };
    const estimateMoved = before.estimated_delivery_at?.getTime() !== estimate.at?.getTime();
    // The carrier's word is news: events, a status, its own estimate. Ours moving (history learned more) is stored
    // for the shop to read, but is not news: it would be a shipment.updated with nothing new from the carrier.
    const news = inserted.length > 0 || before.status !== u.snapshot.status || (estimateMoved && estimate.source === 'carrier');
    // A delay ends when the parcel's journey does, or when news brings an estimate still ahead of us. News of
    // a given-up parcel (a push: a given-up parcel is not polled) follows it again.
    await db.rows(
      `UPDATE shipments SET status = $2, picked_up_at = coalesce(picked_up_at, $3), estimated_delivery_at = $4,
              estimate_source = $5, delivered_at = $6, next_poll_at = $7, last_polled_at = now(), poll_failures = 0,
              updated_at = CASE WHEN $8 THEN now() ELSE updated_at END,
              last_news_at = CASE WHEN $10 THEN now() ELSE last_news_at END,
              tracking_ended_at = CASE WHEN $10 THEN NULL ELSE tracking_ended_at END,
              tracking_end = CASE WHEN $10 THEN NULL ELSE tracking_end END,
              delayed_since = CASE WHEN $2 = ANY($11::text[]) OR ($10 AND $4 > now()) THEN NULL ELSE delayed_since END,
              newest_event_at = $13
        WHERE shop_id = $12 AND id = $1 AND (status = $2 OR status = ANY($9::text[]))`,
      [
        id, u.snapshot.status, u.pickedUpAt, estimate.at, estimate.source, u.deliveredAt, u.nextPollAt, news || estimateMoved,
        SHIPMENT.fromStatesFor(u.snapshot.status), news, FINAL, shopId, known && (!newest || newest < known) ? known : newest,
      ],
      tx,
    );
    if (!news) return { changed: false };
    // The order's row lock keeps its events in order against its other shipments' polls.
    await db.rows('SELECT 1 FROM orders WHERE shop_id = $2 AND id = $1 FOR UPDATE', [before.order_id, shopId], tx);
    // A return's parcel: the shop hears of it when it brings the goods back, which receives the return.
    if (before.return_id) {
      return u.snapshot.status === 'delivered' ? { changed: true, ...(await receiveReturnIn(db, outbox, tx, { shopId, id: before.return_id }, 'parcel')) } : { changed: true };
    }
    const event = { orderId: before.order_id, shopId: before.shop_id };
    await outbox.record(tx, { ...event, type: 'shipment.updated' });
    if (u.snapshot.status === 'delivered') {
      const [done] = await db.rows<{ id: string }>(
        `UPDATE orders SET status = 'delivered', updated_at = now()
          WHERE shop_id = $3 AND id = $1 AND status = ANY($2::text[])
            AND NOT EXISTS (SELECT 1 FROM shipments WHERE shop_id = $3 AND order_id = $1 AND return_id IS NULL AND status <> 'delivered')
          RETURNING id`,
        [before.order_id, ORDER.fromStatesFor('delivered'), shopId],
        tx,
      );
      if (done) await outbox.record(tx, { ...event, type: ORDER.eventFor('shipped', 'delivered')! });
    }
    return { changed: true };
  });
