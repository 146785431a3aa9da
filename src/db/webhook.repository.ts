import { randomUUID } from 'node:crypto';
import type { Database } from './database.js';
import { newOrderId, isUuid } from '../domain/ids.js';
import type { DeliveryView, EventState, OutboxEvent, WebhookStore } from '../webhooks/webhook-ports.js';

/** How long a delivery lease lasts unless renewed; the holder renews it every RENEW_EVERY_MS while it runs. */
const LEASE = '30 seconds';
const RENEW_EVERY_MS = 10_000;

interface EventRow {
  id: string;
  seq: number;
  order_id: string;
  shop_id: string;
  type: OutboxEvent['type'];
  created_at: Date;
  payload: string | null;
  state: EventState;
  webhook_url: string | null;
  webhook_secret: string;
}
const SELECT_EVENT = `
  SELECT e.id, e.seq, e.order_id, e.shop_id, e.type, e.created_at, e.payload, e.state, s.webhook_url, s.webhook_secret
    FROM order_events e JOIN shops s ON s.id = e.shop_id`;
/** An order's events: by its shop, then its id. */
const OF_ORDER = 'e.shop_id = $1 AND e.order_id = $2';
const toEvent = (r: EventRow): OutboxEvent => ({
  id: r.id, seq: r.seq, orderId: r.order_id, shopId: r.shop_id, type: r.type, createdAt: r.created_at, payload: r.payload,
  state: r.state, webhookUrl: r.webhook_url, webhookSecret: r.webhook_secret,
});

interface DeliveryRow {
  id: string; event_id: string; event_type: OutboxEvent['type']; order_id: string; url: string; attempt: number;
  status_code: number | null; error: string | null; duration_ms: number; outcome: DeliveryView['outcome']; created_at: Date;
}
const toDelivery = (r: DeliveryRow): DeliveryView => ({
  id: r.id, eventId: r.event_id, eventType: r.event_type, orderId: r.order_id, url: r.url, attempt: r.attempt,
  statusCode: r.status_code, error: r.error, durationMs: r.duration_ms, outcome: r.outcome, createdAt: r.created_at,
});

export function createWebhookRepository(db: Database): WebhookStore {
  return {
    // A lease row, not a lock held on a connection: a run holds no pooled connection between its queries and
    // sends. A lease outlives a dead process by LEASE at most, then the next run takes it over.
    async withOrderLock({ shopId, orderId }, fn) {
      const token = randomUUID();
      const [row] = await db.rows<{ token: string }>(
        `INSERT INTO webhook_leases (order_id, token, until, shop_id) VALUES ($1, $2, now() + $3::interval, $4)
         ON CONFLICT (shop_id, order_id) DO UPDATE SET token = EXCLUDED.token, until = EXCLUDED.until WHERE webhook_leases.until < now()
         RETURNING token`,
        [orderId, token, LEASE, shopId],
      );
      if (!row) return { acquired: false as const };
      // Renewed while the run lasts, so the lease can be short: a killed worker's lease lapses within LEASE.
      const renew = setInterval(() => {
        void db
          .rows(`UPDATE webhook_leases SET until = now() + $3::interval WHERE shop_id = $4 AND order_id = $1 AND token = $2`, [orderId, token, LEASE, shopId])
          .catch(() => undefined);
      }, RENEW_EVERY_MS);
      try {
        return { acquired: true as const, value: await fn() };
      } finally {
        clearInterval(renew);
        await db.rows('DELETE FROM webhook_leases WHERE shop_id = $3 AND order_id = $1 AND token = $2', [orderId, token, shopId]);
      }
    },

    async nextPending({ shopId, orderId }) {
      const [row] = await db.rows<EventRow>(`${SELECT_EVENT} WHERE ${OF_ORDER} AND e.state = 'pending' ORDER BY e.seq LIMIT 1`, [shopId, orderId]);
      return row ? toEvent(row) : null;
    },

    async event({ shopId, orderId }, eventId) {
      const [row] = await db.rows<EventRow>(`${SELECT_EVENT} WHERE ${OF_ORDER} AND e.id = $3`, [shopId, orderId, eventId]);
      return row ? toEvent(row) : null;
    },

    async fixPayload({ shopId, id: eventId }, body) {
      const [row] = await db.rows<{ payload: string }>(
        'UPDATE order_events SET payload = coalesce(payload, $2), updated_at = now() WHERE shop_id = $3 AND id = $1 RETURNING payload',
        [eventId, body, shopId],
      );
      return row!.payload;
    },

    async beginAttempt({ shopId, id: eventId }) {
      const [row] = await db.rows<{ attempts: number }>(
        'UPDATE order_events SET attempts = attempts + 1, updated_at = now() WHERE shop_id = $2 AND id = $1 RETURNING attempts',
        [eventId, shopId],
      );
      return row!.attempts;
    },

    async logAttempt(a) {
      await db.rows(
        `INSERT INTO webhook_deliveries (id, event_id, shop_id, url, attempt, status_code, error, duration_ms, outcome)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
        [newOrderId(), a.eventId, a.shopId, a.url, a.attempt, a.statusCode, a.error?.slice(0, 1000) ?? null, a.durationMs, a.outcome],
      );
    },

    async settle({ shopId, id: eventId }, state) {
      await db.rows(
        `UPDATE order_events SET state = $2, updated_at = now(), delivered_at = CASE WHEN $2 = 'delivered' THEN now() ELSE delivered_at END
          WHERE shop_id = $3 AND id = $1 AND (state = 'pending' OR (state = 'failed' AND $2 = 'delivered'))`,
        [eventId, state, shopId],
      );
    },

    async latestPendingSeq({ shopId, orderId }) {
      const [row] = await db.rows<{ seq: number | null }>(`SELECT max(e.seq) AS seq FROM order_events e WHERE ${OF_ORDER} AND e.state = 'pending'`, [shopId, orderId]);
      return row?.seq ?? null;
    },

    async listDeliveries(shopId, q) {
      const rows = await db.rows<DeliveryRow>(
        `SELECT d.id, d.event_id, e.type AS event_type, e.order_id, d.url, d.attempt, d.status_code, d.error, d.duration_ms,
                d.outcome, d.created_at
           FROM webhook_deliveries d JOIN order_events e ON e.shop_id = d.shop_id AND e.id = d.event_id
          WHERE d.shop_id = $1 AND ($2::uuid IS NULL OR d.id < $2) AND ($3::uuid IS NULL OR d.event_id = $3)
          ORDER BY d.id DESC LIMIT $4`,
        [shopId, q.after ?? null, q.eventId ?? null, q.limit],
      );
      return rows.map(toDelivery);
    },

    async findDelivery(shopId, deliveryId) {
      if (!isUuid(deliveryId)) return null;
      const [row] = await db.rows<{ event_id: string; order_id: string }>(
        `SELECT d.event_id, e.order_id FROM webhook_deliveries d JOIN order_events e ON e.shop_id = d.shop_id AND e.id = d.event_id
          WHERE d.shop_id = $2 AND d.id = $1`,
        [deliveryId, shopId],
      );
      return row ? { eventId: row.event_id, orderId: row.order_id } : null;
    },
  };
}
