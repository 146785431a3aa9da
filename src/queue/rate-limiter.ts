import type { RedisClient } from './redis.js';
import type { RateLimiter } from '../domain/tracking-ports.js';

/**
 * A fixed-window counter in Redis, shared by every worker process: at most `limit` takes per window per key.
 * The key carries the deployment's hash tag, so on a Redis Cluster it lives beside that deployment's queues.
 */
export function createRedisRateLimiter(redis: RedisClient, prefix: string): RateLimiter {
  return {
    async take(key, limit, windowMs) {
      const now = Date.now();
      const window = Math.floor(now / windowMs);
      const k = `${prefix}:ratelimit:${key}:${window}`;
      const [[, count]] = (await redis.multi().incr(k).pexpire(k, windowMs * 2).exec()) as [[unknown, number]];
      return count <= limit ? 0 : (window + 1) * windowMs - now;
    },
  };
}
