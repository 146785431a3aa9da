import { Redis, type RedisOptions } from 'ioredis';

/**
 * `worker` connections block on BRPOPLPUSH-style commands and must retry forever (BullMQ requires
 * maxRetriesPerRequest: null). `producer` connections serve HTTP requests and give up sooner; callers on a
 * request path also bound their wait (see job-publisher.ts), so a request never hangs on a dead Redis.
 */
export function createRedis(url: string, role: 'producer' | 'worker'): Redis {
  const options: RedisOptions =
    role === 'worker'
      ? { maxRetriesPerRequest: null, enableReadyCheck: true }
      : { maxRetriesPerRequest: 1, commandTimeout: 5_000, connectTimeout: 5_000 };
  return new Redis(url, { ...options, retryStrategy: (times) => Math.min(times * 200, 2_000) });
}

/** Wraps the deployment's prefix in braces: a Redis Cluster hash tag, so each queue's keys share one slot. */
export const bullPrefix = (queuePrefix: string) => `{${queuePrefix}}`;
