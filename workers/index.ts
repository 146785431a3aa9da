import { Worker, type Job, type Processor } from 'bullmq';
import { maintenanceJob } from '../jobs/maintenance.job.js';
import { backoffStrategy } from './backoff.js';
import type { QueueName } from '../jobs/index.js';
import { processorsFor } from './queue-processors.js';
import { bullPrefix } from '../src/queue/redis.js';
import { shardPrefixes } from '../src/queue/shards.js';
import { SHARDED_QUEUES } from '../src/queue/queues.js';
import { createApplication, loadPaymentGateways, type Infrastructure } from '../src/runtime.js';
import { webhookDeliveryProcessor } from './webhook-delivery.worker.js';
import { createWebhookSender } from '../src/webhooks/webhook-sender.js';
import { orderView } from '../src/http/views.js';
import { maintenanceProcessor } from './maintenance.worker.js';
import { orderPlacementProcessor } from './order-placement.worker.js';
import { paymentCaptureProcessor } from './payment-capture.worker.js';
import { paymentRefundProcessor } from './payment-refund.worker.js';
import { TRACKING_SCHEDULER_ID, trackingPollJob } from '../jobs/tracking-poll.job.js';
import { scheduleEvery } from './job-schedulers.js';
import { trackingPollProcessor } from './tracking-poll.worker.js';
import { loadCarrierClients } from '../src/carriers/configured-carriers.js';
import { createRedisRateLimiter } from '../src/queue/rate-limiter.js';
import { createReconcileRepository } from '../src/db/reconcile.repository.js';
import { createShopLookup } from '../src/db/shop-lookup.repository.js';
import { createReconcilerCursors } from '../src/queue/reconciler-cursors.js';
import { superviseWorker } from './worker-watchdog.js';

/** How long a clean stop waits for active jobs before handing them back to the queue. */
const CLOSE_TIMEOUT_MS = 10_000;

/**
 * The worker process: one BullMQ Worker per queue in WORKER_QUEUES and shard in WORKER_SHARDS (a queue that
 * lives on shard 0 alone, only there). Its composition root.
 */
export async function createWorkerProcess(infra: Infrastructure) {
  const { config, logger, db, redis, queues, metrics } = infra;
  const { stores, jobs } = createApplication(infra);
  const { orders } = stores;
  // Jobs queued before jobs carried their shop find it here (workers/job-shop.ts).
  const shops = createShopLookup(db);
  const payment = { payments: stores.payments, gateways: await loadPaymentGateways(config, db, metrics), jobs: jobs.payments, holdExpiresMs: config.holdExpiresMs };

  const tracking = {
    shipments: stores.shipments,
    carriers: loadCarrierClients(config),
    jobs: jobs.tracking,
    limiter: createRedisRateLimiter(redis, bullPrefix(config.queuePrefix)),
    refreshEveryMs: config.trackingRefreshEveryMs,
    staleAfterMs: config.trackingStaleAfterMs,
    carrierCallsPerSecond: config.carrierCallsPerSecond,
  };

  const processors: Record<QueueName, Processor> = {
    // A process that serves the capture queue too charges a placed order from its placement job.
    'order-placement': orderPlacementProcessor({ orders, payments: jobs.payments, charge: config.workerQueues.includes('payment-capture') ? payment : undefined, shops, logger }),
    'payment-capture': paymentCaptureProcessor({ ...payment, shops, logger }),
    'payment-refund': paymentRefundProcessor({ ...payment, shops, logger }),
    'tracking-poll': trackingPollProcessor({ ...tracking, shops, logger }),
    'webhook-delivery': webhookDeliveryProcessor({
      store: stores.webhooks,
      sender: createWebhookSender({ allowPrivateNetworks: config.webhookAllowPrivateNetworks }),
      renderOrder: async (shopId, orderId) => {
        const order = await orders.get(shopId, orderId);
        return order && orderView(order);
      },
      shops,
      logger,
    }),
    maintenance: maintenanceProcessor({
      reconciler: { ...jobs.reconciler, candidates: createReconcileRepository(db), cursors: createReconcilerCursors(redis, config.queuePrefix) },
      options: { staleAfterMs: config.sweepStaleAfterMs, holdExpiresMs: config.holdExpiresMs },
      logger,
    }),
  };

  const observe = (queue: string, job: Job, outcome: 'completed' | 'retried' | 'failed') => {
    metrics.jobOutcomes.inc({ queue, outcome });
    if (job.processedOn && job.finishedOn) metrics.jobDuration.observe({ queue, outcome }, (job.finishedOn - job.processedOn) / 1000);
  };
  const countRepairs = (result: unknown) => {
    const restarted = (result as { restarted?: Record<string, number> } | undefined)?.restarted ?? {};
    for (const [kind, n] of Object.entries(restarted)) if (n > 0) metrics.repairs.inc({ kind }, n);
  };

  const prefixes = shardPrefixes(config.queuePrefix, config.queueShards);
  const served = processorsFor(config.workerQueues, processors).flatMap(([name, processor]) =>
    config.workerShards.filter((shard) => shard === 0 || SHARDED_QUEUES.has(name)).map((shard) => ({ name, processor, shard })),
  );
  const workers = served.map(({ name, processor, shard }) => {
    const make = (counted: Processor) => {
      const worker = new Worker(name, counted, {
        connection: redis,
        prefix: prefixes[shard],
        concurrency: config.workerConcurrency[name],
        lockDuration: config.jobLockMs,
        stalledInterval: Math.min(config.jobLockMs, 30_000),
        // A job whose worker died is handed back this many times before it fails; the reconciler covers the rest.
        maxStalledCount: 3,
        autorun: false,
        settings: { backoffStrategy },
      });
      worker.on('error', (err) => logger.warn({ err: err.message, queue: name, shard }, 'worker error'));
      worker.on('completed', (job, result) => {
        observe(name, job, 'completed');
        if (name === 'maintenance') countRepairs(result);
      });
      worker.on('failed', (job, err) => {
        if (!job) return;
        const final = job.attemptsMade >= (job.opts.attempts ?? 1) || err.name === 'UnrecoverableError';
        observe(name, job, final ? 'failed' : 'retried');
        if (!final) return;
        logger.error({ queue: name, shard, jobId: job.id, err: err.message }, 'job failed for good');
      });
      return worker;
    };
    return superviseWorker(make, processor, infra.shards.all[shard]![name], config.workerConcurrency[name], {
      stallMs: config.workerWatchdogMs,
      checkEveryMs: Math.max(250, Math.floor(config.workerWatchdogMs / 4)),
      onReplaced: ({ waiting, stuckForMs }) => {
        metrics.workerReplacements.inc({ queue: name });
        logger.warn({ queue: name, shard, waiting, stuckForMs }, 'worker took no job while jobs waited; replaced it');
      },
      onStopped: (err) => logger.error({ err, queue: name, shard }, 'worker stopped'),
    });
  });

  return {
    workers,
    // The schedulers live on shard 0, one each for the deployment: its workers keep them up.
    async start() {
      const home = config.workerShards.includes(0);
      if (home && config.workerQueues.includes('maintenance')) {
        await scheduleEvery(queues.maintenance, 'repair-sweep', config.sweepEveryMs, {
          name: maintenanceJob.name({ v: 1, task: 'repair-sweep' }),
          data: { v: 1, task: 'repair-sweep' },
          opts: maintenanceJob.options(config.retryBaseDelayMs),
        });
      }
      if (home && config.workerQueues.includes('tracking-poll')) {
        // A tick leaves little worth keeping: the last hundred are enough to see that it runs.
        await scheduleEvery(queues['tracking-poll'], TRACKING_SCHEDULER_ID, config.trackingRefreshEveryMs, {
          name: trackingPollJob.name({ v: 1, kind: 'fan-out' }),
          data: { v: 1, kind: 'fan-out' },
          opts: { ...trackingPollJob.options(config.retryBaseDelayMs), removeOnComplete: { count: 100 } },
        });
      }
      for (const w of workers) w.run();
      logger.info({ queues: config.workerQueues, shards: config.workerShards }, 'workers running');
    },
    /**
     * Stops fetching and lets active jobs finish for a while. A worker still closing after that is left behind
     * (its jobs go back to the queue once their locks expire): a second, forced close of BullMQ only returns the
     * first one, and a close can wait forever on a connection that a Redis Cluster failover left with no node.
     */
    async close() {
      await Promise.all(
        workers.map(async (w, i) => {
          let timer: NodeJS.Timeout | undefined;
          const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), CLOSE_TIMEOUT_MS)));
          const outcome = await Promise.race([w.close().then(() => 'closed' as const), late]);
          clearTimeout(timer);
          if (outcome === 'late') logger.warn({ queue: w.current.name, shard: served[i]!.shard }, 'worker did not stop in time; its jobs return to the queue when their locks expire');
        }),
      );
    },
  };
}
