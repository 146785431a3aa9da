import type { Database } from './database.js';
import { ORDER, REFUND } from '../domain/order-lifecycle.js';
import type { Candidate, CandidatePage, Cursor, Stream } from '../domain/reconciler.js';

/** Before every row: the start of a walk. */
const START: Cursor = { at: '-infinity', key: '00000000-0000-0000-0000-000000000000' };

/**
 * `at` is the row's timestamp as Postgres prints it, microseconds included, and goes back to Postgres as the
 * next page's start: a JavaScript Date would cut it to milliseconds and read rows twice.
 */
interface Row { key: string; at: string; id: string; shop_id: string; placed_at?: Date }

/** The page, and where the next one starts (null: this was the last). */
function paged<R extends { key: string; at: string }>(rows: R[], limit: number, toCandidates: (rows: R[]) => Candidate[]): CandidatePage {
  const last = rows[rows.length - 1];
  return { candidates: toCandidates(rows), next: rows.length < limit || !last ? null : { at: last.at, key: last.key } };
}

/**
 * The reconciler's candidates, walked in (timestamp, id) order from a cursor. Each query starts on the
 * partial index of its table's open rows (orders_open, refunds_pending, order_events_pending_age), so a walk
 * costs the open rows it reads, not the table.
 */
export function createReconcileRepository(db: Database) {
  return async function candidates(stream: Stream, before: Date, after: Cursor | null, limit: number): Promise<CandidatePage> {
    const from = after ?? START;
    const args: [Date, string, string, number] = [before, from.at, from.key, limit];
    switch (stream) {
      case 'placement':
      case 'capture': {
        const rows = await db.rows<Row>(
          `SELECT id::text AS key, updated_at::text AS at, id, shop_id, coalesce(placed_at, updated_at) AS placed_at FROM orders
            WHERE status = ANY($5::text[]) AND updated_at < $1 AND (updated_at, id) > ($2::timestamptz, $3::uuid)
            ORDER BY updated_at, id LIMIT $4`,
          [...args, ORDER.statesNeeding(stream)],
        );
        return paged(rows, limit, (rs) => rs.map((r) => ({ id: r.id, shopId: r.shop_id, placedAt: r.placed_at! })));
      }
      case 'refund': {
        const rows = await db.rows<Row>(
          `SELECT id::text AS key, updated_at::text AS at, id, shop_id FROM refunds
            WHERE status = ANY($5::text[]) AND updated_at < $1 AND (updated_at, id) > ($2::timestamptz, $3::uuid)
            ORDER BY updated_at, id LIMIT $4`,
          [...args, REFUND.statesNeeding('refund')],
        );
        return paged(rows, limit, (rs) => rs.map((r) => ({ id: r.id, shopId: r.shop_id })));
      }
      case 'delivery':
        return pendingDeliveries(db, args);
    }
  };
}

/** Orders with events still pending since before `before`, each with its latest pending event (its job's id). */
async function pendingDeliveries(db: Database, args: [Date, string, string, number]): Promise<CandidatePage> {
  const rows = await db.rows<{ key: string; at: string; order_id: string; shop_id: string; seq: number | null }>(
    `WITH page AS (
       SELECT id::text AS key, created_at AS at, order_id, shop_id FROM order_events
        WHERE state = 'pending' AND created_at < $1 AND (created_at, id) > ($2::timestamptz, $3::uuid)
        ORDER BY created_at, id LIMIT $4)
     SELECT p.key, p.at::text AS at, p.order_id, p.shop_id,
            (SELECT max(e.seq) FROM order_events e WHERE e.shop_id = p.shop_id AND e.order_id = p.order_id AND e.state = 'pending') AS seq
       FROM page p ORDER BY p.at, p.key::uuid`,
    args,
  );
  // An order with several old pending events is one delivery: the first of its rows stands for it.
  const seen = new Set<string>();
  return paged(rows, args[3], (rs) =>
    rs.flatMap((r) => {
      if (seen.has(r.order_id) || r.seq === null) return [];
      seen.add(r.order_id);
      return [{ id: r.order_id, shopId: r.shop_id, seq: r.seq }];
    }),
  );
}
