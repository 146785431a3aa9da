import type { Config } from './config.js';
import { createDatabase, type Database } from './db/database.js';
import { createOrderRepository } from './db/order.repository.js';
import { createProductRepository } from './db/product.repository.js';
import { createShopRepository } from './db/shop.repository.js';
import { createLogger, type Logger } from './logger.js';
import { closeQueues, createQueues, type Queues } from './queue/queues.js';
import { createRedis, type RedisClient } from './queue/redis.js';
import { createMetrics, type Metrics } from './metrics.js';

/** The connections a process holds for its whole life, built once from the config and closed once. */
export interface Infrastructure {
  config: Config;
  logger: Logger;
  db: Database;
  redis: RedisClient;
  queues: Queues;
  metrics: Metrics;
  close(): Promise<void>;
}

/** `shared`: what a process running web and workers together (npm start, tests) gives both: one logger, one registry. */
export function createInfrastructure(config: Config, role: 'web' | 'worker', shared: { logger?: Logger; metrics?: Metrics } = {}): Infrastructure {
  const logger = shared.logger;
  const log = logger ?? createLogger(config.logLevel, { role });
  const db = createDatabase(config.databaseUrl, { poolMax: config.dbPoolMax });
  const redis = createRedis({ url: config.redisUrl, clusterNodes: config.redisClusterNodes }, role === 'web' ? 'producer' : 'worker');
  redis.on('error', (err) => log.warn({ err: err.message }, 'redis connection error'));
  const queues = createQueues(config, redis);
  for (const q of Object.values(queues)) q.on('error', (err) => log.warn({ err: err.message, queue: q.name }, 'queue error'));
  return {
    config,
    logger: log,
    db,
    redis,
    queues,
    metrics: shared.metrics ?? createMetrics(),
    async close() {
      await closeQueues(queues).catch(() => undefined);
      redis.disconnect();
      await db.close();
    },
  };
}

export function createStores(db: Database) {
  return { shops: createShopRepository(db), products: createProductRepository(db), orders: createOrderRepository(db) };
}
