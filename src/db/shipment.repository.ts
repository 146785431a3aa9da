import type { Database } from './database.js';
import { applyPoll } from './shipment-poll.js';
import { COLUMNS, FINAL, insertShipment, toView, type ShipmentRow } from './shipment-rows.js';
import { flagDelays, giveUpExceptions } from './shipment-sweeps.js';
import { citySpellings } from '../domain/delivery-estimate.js';
import { isUuid } from '../domain/ids.js';
import type { EventOutbox } from './event-outbox.js';
import { conflict, notFound } from '../domain/errors.js';
import { ORDER, type OrderStatus } from '../domain/order-lifecycle.js';
import { assertMayShip, assertUnderLimit } from '../domain/order-rules.js';
import type { ShipmentStore, TrackedShipment } from '../domain/tracking-ports.js';
import { shopsOf, type ShopRow } from '../domain/keys.js';

/** A poll's and a push's view of a shipment: its row and where its push subscription stands. */
type TrackedRow = ShipmentRow & { push_renewals: number; push_ended_at: Date | null };
const TRACKED = `${COLUMNS}, push_renewals, push_ended_at`;

const toTracked = (r: TrackedRow): TrackedShipment => ({
  id: r.id, shopId: r.shop_id, orderId: r.order_id, carrier: r.carrier, trackingNumber: r.tracking_number, status: r.status,
  phone: r.phone, fromCity: r.from_city, toCity: r.to_city, carrierCom: r.carrier_com, push: r.push_status,
  pushRenewals: r.push_renewals, pushEndedAt: r.push_ended_at,
});



/**
 * The fan-out's claim, round-robin across shops: every shop's oldest due parcel (its turn 1), then every shop's
 * second, and so on, oldest first within a turn, up to the budget ($4). The shops with open parcels of the
 * carrier are walked one index probe each (a loose scan of `shipments_open_by_shop`), and each shop gives at
 * most the budget of its oldest due parcels: the cost follows shops and budget, not the size of a backlog.
 * SKIP LOCKED passes over a parcel a poll is writing; the claim re-checks that it is still due. A parcel whose
 * tracking ended is out of the index; a quiet exception the sweep has not given up yet is passed over. The answer is in
 * claim order, so the first batches the fan-out queues hold every shop's first turns.
 */
const CLAIM_FAIRLY = `
  WITH RECURSIVE shop AS (
    (SELECT shop_id FROM shipments
      WHERE carrier = $1 AND status NOT IN ('delivered', 'returned_to_sender') AND tracking_ended_at IS NULL ORDER BY shop_id LIMIT 1)
    UNION ALL
    SELECT (SELECT s.shop_id FROM shipments s
             WHERE s.carrier = $1 AND s.status NOT IN ('delivered', 'returned_to_sender') AND s.tracking_ended_at IS NULL AND s.shop_id > shop.shop_id
             ORDER BY s.shop_id LIMIT 1)
      FROM shop WHERE shop.shop_id IS NOT NULL
  ), due AS (
    SELECT d.id, d.next_poll_at, row_number() OVER (PARTITION BY shop.shop_id ORDER BY d.next_poll_at, d.id) AS turn
      FROM shop CROSS JOIN LATERAL (
        SELECT id, next_poll_at FROM shipments
         WHERE carrier = $1 AND shop_id = shop.shop_id AND status NOT IN ('delivered', 'returned_to_sender') AND tracking_ended_at IS NULL
           AND next_poll_at <= $2 AND (status <> 'exception' OR last_news_at > $5)
         ORDER BY next_poll_at LIMIT $4) d
  ), picked AS (
    SELECT id, turn, next_poll_at FROM due ORDER BY turn, next_poll_at, id LIMIT $4
  ), locked AS (
    SELECT s.id FROM shipments s WHERE s.id IN (SELECT id FROM picked) FOR UPDATE SKIP LOCKED
  ), claimed AS (
    UPDATE shipments SET next_poll_at = $3
      FROM picked
     WHERE shipments.id = picked.id AND shipments.id IN (SELECT id FROM locked) AND shipments.next_poll_at <= $2
    RETURNING shipments.id, shipments.shop_id, picked.turn, picked.next_poll_at AS due_at
  )
  SELECT id, shop_id AS "shopId" FROM claimed ORDER BY turn, due_at, id`;

/**
 * A carrier's latest deliveries on a route ($2 and $3: each city's spellings), across shops: one walk of
 * `shipments_delivered_route` per pair of spellings, each newest first and cut at the sample ($4), so the cost
 * follows the sample, not the carrier's deliveries. The index is on lower(city): both sides are lowered alike.
 */
export const DELIVERED_ON_ROUTE = `
  SELECT d.from_city, d.to_city, d.transit_ms
    FROM unnest($2::text[]) AS f(city) CROSS JOIN unnest($3::text[]) AS t(city)
   CROSS JOIN LATERAL (
     SELECT from_city, to_city, delivered_at, (extract(epoch FROM delivered_at - picked_up_at) * 1000)::bigint AS transit_ms
       FROM shipments
      WHERE carrier = $1 AND status = 'delivered' AND lower(from_city) = lower(f.city) AND lower(to_city) = lower(t.city)
        AND picked_up_at IS NOT NULL
      ORDER BY delivered_at DESC LIMIT $4) d
   ORDER BY d.delivered_at DESC LIMIT $4`;


export function createShipmentRepository(db: Database, outbox: EventOutbox): ShipmentStore {
  return {
    create: (s) =>
      db.transaction(async (tx) => {
        if (!isUuid(s.orderId)) throw notFound('order');
        const [o] = await db.rows<{ status: OrderStatus; to_city: string | null; phone: string | null }>(
          `SELECT status, shipping_address->>'city' AS to_city, customer->>'phone' AS phone
             FROM orders WHERE id = $1 AND shop_id = $2 FOR UPDATE`,
          [s.orderId, s.shopId],
          tx,
        );
        if (!o) throw notFound('order');
        const [existing] = await db.rows<ShipmentRow & { return_id: string | null }>(
          `SELECT ${COLUMNS}, return_id FROM shipments WHERE shop_id = $4 AND order_id = $1 AND carrier = $2 AND tracking_number = $3`,
          [s.orderId, s.carrier, s.trackingNumber, s.shopId],
          tx,
        );
        if (existing?.return_id) throw conflict(`${s.carrier} ${s.trackingNumber} is the parcel of return ${existing.return_id}, not a shipment`);
        if (existing) return { shipment: toView(existing), created: false };
        assertMayShip(o.status);
        // The order's row lock makes its count exact (and the shop's, taken by insertShipment, the shop's open parcels).
        const [{ n } = { n: 0 }] = await db.rows<{ n: number }>(
          'SELECT count(*)::int AS n FROM shipments WHERE shop_id = $2 AND order_id = $1 AND return_id IS NULL', [s.orderId, s.shopId], tx);
        assertUnderLimit('shipmentsPerOrder', s.limits.perOrder, n);
        const row = await insertShipment(db, tx, {
          ...s, fromCity: s.fromCity ?? null, toCity: o.to_city, phone: o.phone, returnId: null, openPerShop: s.limits.openPerShop,
        });
        await db.rows(
          `UPDATE orders SET status = 'shipped', updated_at = now() WHERE shop_id = $3 AND id = $1 AND status = ANY($2::text[])`,
          [s.orderId, ORDER.fromStatesFor('shipped'), s.shopId],
          tx,
        );
        // The first parcel ships the order; each further one is news about its shipments.
        await outbox.record(tx, { orderId: s.orderId, shopId: s.shopId, type: ORDER.eventFor(o.status, 'shipped') ?? 'shipment.updated' });
        return { shipment: toView(row), created: true };
      }),

    async claimDue(carrier, now, claimUntil, limit, exceptionsQuietSince) {
      return db.rows<ShopRow>(CLAIM_FAIRLY, [carrier, now, claimUntil, limit, exceptionsQuietSince]);
    },

    async claim(shipments, now, claimUntil) {
      return db.rows<ShopRow>(
        `UPDATE shipments SET next_poll_at = $3
          WHERE shop_id = ANY($5::uuid[]) AND id = ANY($1::uuid[]) AND next_poll_at <= $2 AND status <> ALL($4::text[]) AND tracking_ended_at IS NULL
          RETURNING id, shop_id AS "shopId"`,
        [shipments.map((s) => s.id), now, claimUntil, FINAL, shopsOf(shipments)],
      );
    },

    giveUpExceptions: (quietSince, limit) => giveUpExceptions(db, quietSince, limit),

    flagDelays: (now, quietSince, staleAfterMs, limit) => flagDelays(db, outbox, { now, quietSince, staleAfterMs, limit }),

    async listDelayed(shopId, limit, after) {
      // The position is the cursor's own (to the microsecond, as delayed_since is kept). A cursor of the earlier
      // form names only its parcel, looked up: if that one is no longer late (or not this shop's), the list ends.
      const rows = await db.rows<ShipmentRow & { delayed_since: Date; delayed_since_us: string }>(
        `SELECT ${COLUMNS}, (extract(epoch FROM delayed_since) * 1000000)::bigint::text AS delayed_since_us FROM shipments
          WHERE shop_id = $1 AND delayed_since IS NOT NULL
            AND ($3::uuid IS NULL OR (delayed_since, id) > (
                  coalesce('epoch'::timestamptz + $4::bigint * interval '1 microsecond',
                           (SELECT delayed_since FROM shipments WHERE id = $3 AND shop_id = $1)), $3::uuid))
          ORDER BY delayed_since, id LIMIT $2`,
        [shopId, limit, after?.id ?? null, after?.delayedSinceUs ?? null],
      );
      return rows.map((r) => ({ ...toView(r), orderId: r.order_id, delayedSince: r.delayed_since, delayedSinceUs: r.delayed_since_us }));
    },

    async load(shipments) {
      // In the order given (a tick's claim order: every shop's turn first), not the index's (by shop): a batch cut
      // short by its carrier's limit must not always leave the same shop's parcels for last.
      const rows = await db.rows<TrackedRow>(
        `SELECT ${TRACKED} FROM shipments WHERE shop_id = ANY($2::uuid[]) AND id = ANY($1::uuid[]) AND tracking_ended_at IS NULL
          ORDER BY array_position($1::uuid[], id)`,
        [shipments.map((s) => s.id), shopsOf(shipments)],
      );
      return rows.map(toTracked);
    },

    async findOpen(carriers, trackingNumber) {
      if (!carriers.length) return [];
      const rows = await db.rows<TrackedRow>(
        `SELECT ${TRACKED} FROM shipments
          WHERE carrier = ANY($1::text[]) AND tracking_number = $2 AND status <> ALL($3::text[]) AND tracking_end IS DISTINCT FROM 'return_cancelled'`,
        [carriers, trackingNumber, FINAL],
      );
      return rows.map(toTracked);
    },

    async recordCarrierCom({ shopId, id }, carrierCom) {
      await db.rows('UPDATE shipments SET carrier_com = $2 WHERE shop_id = $3 AND id = $1', [id, carrierCom, shopId]);
    },

    async recordSubscription({ shopId, id }, outcome, renewal = false) {
      // Only from the state the poll read ("never subscribed", or lapsed): a push that ended the subscription
      // meanwhile is not undone, and a replayed poll records (and counts) nothing twice.
      await db.rows(
        `UPDATE shipments SET push_status = $2, push_renewals = push_renewals + $4
          WHERE shop_id = $3 AND id = $1 AND push_status IS NOT DISTINCT FROM $5`,
        [id, outcome, shopId, renewal ? 1 : 0, renewal ? 'lapsed' : null],
      );
    },

    async endPush(shipments, renewBelow) {
      await db.rows(
        `UPDATE shipments
            SET push_status = CASE WHEN push_status IN ('ended', 'refused') THEN push_status WHEN push_renewals < $3 THEN 'lapsed' ELSE 'ended' END,
                push_ended_at = now(), next_poll_at = LEAST(next_poll_at, now())
          WHERE shop_id = ANY($2::uuid[]) AND id = ANY($1::uuid[])`,
        [shipments.map((s) => s.id), shopsOf(shipments), renewBelow],
      );
    },

    async deliveredTransits(carrier, route, limit) {
      const rows = await db.rows<{ from_city: string; to_city: string; transit_ms: number }>(DELIVERED_ON_ROUTE, [
        carrier, citySpellings(route.fromCity), citySpellings(route.toCity), limit,
      ]);
      return rows.map((r) => ({ fromCity: r.from_city, toCity: r.to_city, transitMs: r.transit_ms }));
    },

    applyPoll: (shipment, u) => applyPoll(db, outbox, shipment, u),

    async deferPoll(shipments, nextPollAt, failed) {
      await db.rows(
        // Only a failed call asked the carrier: a parcel put off before its call keeps its last poll's time.
        `UPDATE shipments SET next_poll_at = $2, poll_failures = poll_failures + $3,
                last_polled_at = CASE WHEN $3 = 1 THEN now() ELSE last_polled_at END
          WHERE shop_id = ANY($4::uuid[]) AND id = ANY($1::uuid[])`,
        [shipments.map((s) => s.id), nextPollAt, failed ? 1 : 0, shopsOf(shipments)],
      );
    },
  };
}
