import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * The Prometheus metrics of one process. A registry per process root (not prom-client's global one), so a
 * test can build several systems in one process. `npm start` shares one between its web and its workers.
 */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'orderworks_' });
  // prom-client names three gauges `..._total`, which Prometheus reserves for counters (promtool refuses them);
  // each repeats a gauge that stays (`orderworks_nodejs_active_handles`...).
  for (const name of ['active_handles_total', 'active_requests_total', 'active_resources_total']) registry.removeSingleMetric(`orderworks_nodejs_${name}`);
  const registers = [registry];
  return {
    registry,
    httpDuration: new Histogram({
      name: 'orderworks_http_request_duration_seconds',
      help: 'HTTP request latency by method, route and status',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    jobDuration: new Histogram({
      name: 'orderworks_job_duration_seconds',
      help: 'Time a job spent running, by queue and outcome',
      labelNames: ['queue', 'outcome'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    jobOutcomes: new Counter({
      name: 'orderworks_jobs_total',
      help: 'Jobs finished by queue and outcome: completed, retried (failed, will run again) or failed (for good)',
      labelNames: ['queue', 'outcome'] as const,
      registers,
    }),
    repairs: new Counter({
      name: 'orderworks_repairs_total',
      help: 'Work the reconciler restarted because its job was lost, failed or finished, by kind',
      labelNames: ['kind'] as const,
      registers,
    }),
    workerReplacements: new Counter({
      name: 'orderworks_worker_replacements_total',
      help: 'Workers the watchdog replaced because jobs waited while they took none (a wedged Redis connection), by queue',
      labelNames: ['queue'] as const,
      registers,
    }),
    followUps: new Counter({
      name: 'orderworks_follow_ups_total',
      help: 'Follow-up work started after a commit, by work and outcome: queued, or failed (the reconciler starts it later)',
      labelNames: ['work', 'outcome'] as const,
      registers,
    }),
    orderEvents: new Counter({
      name: 'orderworks_order_events_total',
      help: 'Order events committed by this process, by type (order.placed, order.paid...): orders reaching each status',
      labelNames: ['type'] as const,
      registers,
    }),
    webhookDeliveries: new Counter({
      name: 'orderworks_webhook_deliveries_total',
      help: 'Webhook delivery attempts made by this process, by outcome',
      labelNames: ['outcome'] as const,
      registers,
    }),
    providerCalls: new Counter({
      name: 'orderworks_provider_calls_total',
      help: 'Calls to payment providers by method, call and outcome (captured, declined, provider_unavailable...)',
      labelNames: ['method', 'call', 'outcome'] as const,
      registers,
    }),
    /** Figures read at scrape time (queue depths, orders by status...): each collector sets its gauge. */
    scraped(name: string, help: string, labelNames: string[], collect: (g: Gauge<string>) => Promise<void>) {
      // A dependency that is down leaves its figures out of the scrape rather than failing all of it.
      return new Gauge({ name, help, labelNames, registers, collect() { return collect(this).catch(() => this.reset()); } });
    },
  };
}
export type Metrics = ReturnType<typeof createMetrics>;
