import { Worker, type Processor } from 'bullmq';
import { maintenanceJob } from '../jobs/maintenance.job.js';
import type { QueueName } from '../src/config.js';
import { createJobPublisher } from '../src/queue/job-publisher.js';
import { bullPrefix } from '../src/queue/redis.js';
import { createStores, type Infrastructure } from '../src/runtime.js';
import { maintenanceProcessor } from './maintenance.worker.js';
import { orderPlacementProcessor } from './order-placement.worker.js';

/** How long a clean stop waits for active jobs before handing them back to the queue. */
const CLOSE_TIMEOUT_MS = 10_000;

/** The worker process: one BullMQ Worker per queue in WORKER_QUEUES. Its composition root. */
export function createWorkerProcess(infra: Infrastructure) {
  const { config, logger, db, redis, queues } = infra;
  const { orders } = createStores(db);
  const jobs = createJobPublisher(queues, config.retryBaseDelayMs);

  const processors: Partial<Record<QueueName, Processor>> = {
    'order-placement': orderPlacementProcessor({ orders, logger }),
    maintenance: maintenanceProcessor({ orders, inspect: jobs, staleAfterMs: config.sweepStaleAfterMs, logger }),
  };

  const workers = config.workerQueues.flatMap((name) => {
    const processor = processors[name];
    if (!processor) return [];
    const worker = new Worker(name, processor, {
      connection: redis,
      prefix: bullPrefix(config.queuePrefix),
      concurrency: config.workerConcurrency[name],
      lockDuration: config.jobLockMs,
      stalledInterval: Math.min(config.jobLockMs, 30_000),
      // A job whose worker died is handed back this many times before it fails; the sweep covers the rest.
      maxStalledCount: 3,
      autorun: false,
    });
    worker.on('error', (err) => logger.warn({ err: err.message, queue: name }, 'worker error'));
    worker.on('failed', (job, err) => {
      if (job && job.attemptsMade >= (job.opts.attempts ?? 1)) logger.error({ queue: name, jobId: job.id, err: err.message }, 'job exhausted its attempts');
    });
    return [worker];
  });

  return {
    workers,
    async start() {
      if (config.workerQueues.includes('maintenance')) {
        await queues.maintenance.upsertJobScheduler(
          'repair-sweep',
          { every: config.sweepEveryMs },
          { name: 'repair-sweep', data: { v: 1, task: 'repair-sweep' }, opts: maintenanceJob.options(config.retryBaseDelayMs) },
        );
      }
      for (const w of workers) void w.run().catch((err) => logger.error({ err, queue: w.name }, 'worker stopped'));
      logger.info({ queues: workers.map((w) => w.name) }, 'workers running');
    },
    /** Stops fetching, lets active jobs finish for a while, then hands the rest back to the queue. */
    async close() {
      await Promise.all(
        workers.map(async (w) => {
          const timer = setTimeout(() => void w.close(true), CLOSE_TIMEOUT_MS);
          await w.close();
          clearTimeout(timer);
        }),
      );
    },
  };
}
