import { Router, type RequestHandler } from 'express';
import type { Database } from '../db/database.js';
import type { Metrics } from '../metrics.js';
import type { QueueShards } from '../queue/queues.js';

const STATES = ['waiting', 'active', 'delayed', 'failed', 'completed', 'prioritized', 'waiting-children'] as const;

/**
 * `GET /metrics`, behind operator credentials or METRICS_TOKEN. Besides its own counters, the web process reports
 * what no single process sees, read at scrape time only where that is cheap: queue depths and the age of the
 * oldest waiting job per queue (Redis counts and one job each), and the open orders (`received`, `placed`,
 * counted through their partial index), and the late parcels (`orderworks_shipments_delayed`, likewise). Orders reaching each status are counted as their events commit
 * (`orderworks_order_events_total`), by whichever process commits them, never by a full-table count. With
 * QUEUE_SHARDS over 1, a queue's figures cover all of its shards (depths summed, the oldest of the oldest).
 */
export function metricsRouter(metrics: Metrics, shards: QueueShards, db: Database, auth: RequestHandler): Router {
  metrics.scraped('orderworks_queue_jobs', 'Jobs in each queue by state', ['queue', 'state'], async (g) => {
    g.reset();
    const all = await Promise.all(shards.list().map(async ({ queue }) => ({ queue: queue.name, counts: await queue.getJobCounts(...STATES) })));
    for (const { queue } of all) for (const s of STATES) g.set({ queue, state: s }, 0);
    for (const { queue, counts } of all) for (const s of STATES) g.inc({ queue, state: s }, counts[s] ?? 0);
  });
  metrics.scraped('orderworks_queue_oldest_waiting_age_seconds', 'Age of the oldest job waiting in each queue (0 when none waits)', ['queue'], async (g) => {
    g.reset();
    const oldest = new Map<string, number>();
    for (const { queue } of shards.list()) {
      const [job] = await queue.getJobs(['waiting'], 0, 0, true);
      const age = job ? Math.max(0, (Date.now() - job.timestamp) / 1000) : 0;
      oldest.set(queue.name, Math.max(oldest.get(queue.name) ?? 0, age));
    }
    for (const [queue, age] of oldest) g.set({ queue }, age);
  });
  metrics.scraped('orderworks_orders_open', 'Orders not yet placed or paid, by status (received, placed)', ['status'], async (g) => {
    g.reset();
    g.set({ status: 'received' }, 0);
    g.set({ status: 'placed' }, 0);
    const rows = await db.rows<{ status: string; n: number }>(
      "SELECT status, count(*)::int AS n FROM orders WHERE status IN ('received', 'placed') GROUP BY status",
    );
    for (const r of rows) g.set({ status: r.status }, r.n);
  });
  metrics.scraped('orderworks_shipments_delayed', 'Shipments past their estimate or without carrier news for too long', [], async (g) => {
    const [row] = await db.rows<{ n: number }>('SELECT count(*)::int AS n FROM shipments WHERE delayed_since IS NOT NULL');
    g.set(row?.n ?? 0);
  });
  const r = Router();
  r.get('/metrics', auth, async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  return r;
}
