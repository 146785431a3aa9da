import type { Config } from './config.js';
import { createDatabase, type Database } from './db/database.js';
import { createOrderRepository } from './db/order.repository.js';
import { createProductRepository } from './db/product.repository.js';
import { createShopRepository } from './db/shop.repository.js';
import { createPaymentRepository } from './db/payment.repository.js';
import { createShipmentRepository } from './db/shipment.repository.js';
import { createReturnRepository } from './db/return.repository.js';
import { createWebhookRepository } from './db/webhook.repository.js';
import { createEventOutbox } from './db/event-outbox.js';
import { createPublishers } from './queue/job-publisher.js';
import { createLogger, type Logger } from './logger.js';
import { closeQueues, createQueueShards, type Queues, type QueueShards } from './queue/queues.js';
import { createRedis, type RedisClient } from './queue/redis.js';
import { createMetrics, type Metrics } from './metrics.js';
import { instrumentGateways } from './payments/instrumented-gateways.js';
import { configuredPaymentGateways, type PaymentGateways } from './payments/configured-gateways.js';
import { sandboxPaymentGateways } from './sandbox/sandbox-gateways.js';

/** The connections a process holds for its whole life, built once from the config and closed once. */
export interface Infrastructure {
  config: Config;
  logger: Logger;
  db: Database;
  redis: RedisClient;
  /** Shard 0's queues: all of them with one shard (QUEUE_SHARDS=1), and the schedulers' with more. */
  queues: Queues;
  /** Every shard's queues; work for an order goes to its shard (`shards.of`). */
  shards: QueueShards;
  metrics: Metrics;
  close(): Promise<void>;
}

/** `shared`: what a process running web and workers together (npm start, tests) gives both: one logger, one registry. */
export function createInfrastructure(config: Config, role: 'web' | 'worker', shared: { logger?: Logger; metrics?: Metrics } = {}): Infrastructure {
  const logger = shared.logger;
  const log = logger ?? createLogger(config.logLevel, { role }, config.logFormat);
  const db = createDatabase(config.databaseUrl, { poolMax: config.dbPoolMax });
  const redis = createRedis({ url: config.redisUrl, clusterNodes: config.redisClusterNodes }, role === 'web' ? 'producer' : 'worker');
  redis.on('error', (err) => log.warn({ err: err.message }, 'redis connection error'));
  const shards = createQueueShards(config, redis);
  for (const { shard, queue } of shards.list()) queue.on('error', (err) => log.warn({ err: err.message, queue: queue.name, shard }, 'queue error'));
  return {
    config,
    logger: log,
    db,
    redis,
    queues: shards.all[0]!,
    shards,
    metrics: shared.metrics ?? createMetrics(),
    async close() {
      await closeQueues(shards).catch(() => undefined);
      redis.disconnect();
      await db.close();
    },
  };
}

/**
 * The stores and job publishers of a process, wired together: state changes record their events in the
 * outbox and, once committed, start their webhook delivery.
 */
export function createApplication(infra: Pick<Infrastructure, 'config' | 'db' | 'shards' | 'logger' | 'metrics'>) {
  const { config, db, shards, logger, metrics } = infra;
  const deliveries = createWebhookRepository(db);
  const webhooks: typeof deliveries = {
    ...deliveries,
    async logAttempt(a) {
      await deliveries.logAttempt(a);
      metrics.webhookDeliveries.inc({ outcome: a.outcome });
    },
  };
  const jobs = createPublishers(shards, config, webhooks, logger, metrics);
  const outbox = createEventOutbox(db, (order) => void jobs.webhooks.deliver(order), (type) => metrics.orderEvents.inc({ type }));
  const stores = {
    shops: createShopRepository(db),
    products: createProductRepository(db),
    orders: createOrderRepository(db, outbox),
    payments: createPaymentRepository(db, outbox),
    shipments: createShipmentRepository(db, outbox),
    returns: createReturnRepository(db, outbox),
    webhooks,
  };
  return { stores, jobs };
}

/**
 * The payment gateways this deployment uses: the bundled sandbox (SANDBOX=1) or the configured providers; with
 * `metrics`, every provider call is counted (orderworks_provider_calls_total).
 */
export async function loadPaymentGateways(config: Config, db: Database, metrics?: Pick<Metrics, 'providerCalls'>): Promise<PaymentGateways> {
  const gateways = config.sandbox ? await sandboxPaymentGateways(config, db) : configuredPaymentGateways(config);
  return metrics ? instrumentGateways(gateways, (labels) => metrics.providerCalls.inc(labels)) : gateways;
}
