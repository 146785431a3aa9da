import { Router } from 'express';
import type { Database } from '../db/database.js';
import type { Metrics } from '../metrics.js';
import type { Queues } from '../queue/queues.js';

const STATES = ['waiting', 'active', 'delayed', 'failed', 'completed', 'prioritized', 'waiting-children'] as const;

/**
 * `GET /metrics`. The web process reports the figures of the whole deployment read at scrape time (queue
 * depths from Redis, orders by status and webhook deliveries by outcome from Postgres) next to its own HTTP
 * latencies; job durations and outcomes come from the processes that run the jobs (see README).
 */
export function metricsRouter(metrics: Metrics, queues: Queues, db: Database): Router {
  metrics.scraped('orderworks_queue_jobs', 'Jobs in each queue by state', ['queue', 'state'], async (g) => {
    g.reset();
    for (const q of Object.values(queues)) {
      const counts = await q.getJobCounts(...STATES);
      for (const s of STATES) g.set({ queue: q.name, state: s }, counts[s] ?? 0);
    }
  });
  metrics.scraped('orderworks_orders', 'Orders by status', ['status'], async (g) => {
    g.reset();
    for (const r of await db.rows<{ status: string; n: number }>('SELECT status, count(*)::int AS n FROM orders GROUP BY status')) {
      g.set({ status: r.status }, r.n);
    }
  });
  metrics.scraped('orderworks_webhook_deliveries', 'Webhook delivery attempts by outcome', ['outcome'], async (g) => {
    g.reset();
    for (const r of await db.rows<{ outcome: string; n: number }>('SELECT outcome, count(*)::int AS n FROM webhook_deliveries GROUP BY outcome')) {
      g.set({ outcome: r.outcome }, r.n);
    }
  });
  const r = Router();
  r.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  return r;
}
