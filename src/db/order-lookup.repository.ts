import { type Database, sequelizeOf } from './database.js';
import { defineOrderSummaries } from './models/order-summary.model.js';
import type { OrderLookupStore } from '../domain/order-lookup.ports.js';

/** The webhook jobs shown per order: its latest events (older ones have long left Redis by retention). */
const LATEST_EVENTS = 20;

export function createOrderLookupRepository(db: Database): OrderLookupStore {
  const summaries = defineOrderSummaries(sequelizeOf(db));
  return {
    search: summaries.search,
    shopOf: summaries.shopOf,
    async workKeys({ shopId, orderId }) {
      const [row] = await db.rows<{ refund_ids: string[]; event_seqs: number[] }>(
        `SELECT ARRAY(SELECT f.id FROM refunds f WHERE f.shop_id = $3 AND f.order_id = $1 ORDER BY f.created_at) AS refund_ids,
                ARRAY(SELECT e.seq FROM order_events e WHERE e.shop_id = $3 AND e.order_id = $1 ORDER BY e.seq DESC LIMIT $2) AS event_seqs`,
        [orderId, LATEST_EVENTS, shopId],
      );
      return { orderId, refundIds: row?.refund_ids ?? [], eventSeqs: (row?.event_seqs ?? []).map(Number) };
    },
  };
}
