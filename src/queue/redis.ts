import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../logger.js';

export type RedisClient = Redis | Cluster;

/**
 * `worker` connections block on BRPOPLPUSH-style commands and must retry forever (BullMQ requires
 * maxRetriesPerRequest: null). `producer` connections serve HTTP requests and give up sooner; callers on a
 * request path also bound their wait (see job-publisher.ts), so a request never hangs on a dead Redis.
 * With `clusterNodes` the client is a Redis Cluster client seeded from those nodes.
 */
export function createRedis(target: { url: string; clusterNodes: readonly string[] }, role: 'producer' | 'worker'): RedisClient {
  const options: RedisOptions =
    role === 'worker'
      ? { maxRetriesPerRequest: null, enableReadyCheck: true }
      : { maxRetriesPerRequest: 1, commandTimeout: 5_000, connectTimeout: 5_000 };
  if (target.clusterNodes.length) {
    const seeds = target.clusterNodes.map((n) => {
      const [host, port] = n.split(':');
      return { host: host!, port: Number(port) };
    });
    return new Cluster(seeds, { redisOptions: options, enableReadyCheck: true, clusterRetryStrategy: (times) => Math.min(times * 200, 2_000) });
  }
  return new Redis(target.url, { ...options, retryStrategy: (times) => Math.min(times * 200, 2_000) });
}

/** Wraps the deployment's prefix in braces: a Redis Cluster hash tag, so each queue's keys share one slot. */
export const bullPrefix = (queuePrefix: string) => `{${queuePrefix}}`;

/**
 * BullMQ keeps jobs as ordinary keys: a Redis that evicts keys under memory pressure silently loses jobs.
 * Warns once at start when the eviction policy is anything but `noeviction`.
 */
export async function warnOnUnsafeRedis(redis: RedisClient, logger: Logger): Promise<void> {
  try {
    const node = redis instanceof Cluster ? redis.nodes('master')[0] : redis;
    const [, policy] = ((await node?.config('GET', 'maxmemory-policy')) ?? []) as string[];
    if (policy && policy !== 'noeviction') {
      logger.warn({ maxmemoryPolicy: policy }, `Redis maxmemory-policy is "${policy}": queued jobs can be evicted; set it to noeviction`);
    }
  } catch (err) {
    logger.debug({ err }, 'could not read the Redis eviction policy (CONFIG may be disabled)');
  }
}
