import type { RedisClient } from './redis.js';
import type { RateLimiter } from '../domain/tracking-ports.js';

/** Counts a take only when it is granted: waiting callers asking again do not use up the window for others. */
const TAKE = `
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n >= tonumber(ARGV[1]) then return 0 end
redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`;

/**
 * A fixed-window counter in Redis, shared by every worker process: at most `limit` takes per window per key.
 * Callers may share one key with different limits: one with a lower limit gets calls only while the window
 * is less used (a new parcel's first poll leaves the rest of a window to the ticks' polls).
 * The key carries the deployment's hash tag, so on a Redis Cluster it lives beside that deployment's queues.
 */
export function createRedisRateLimiter(redis: RedisClient, prefix: string): RateLimiter {
  return {
    async take(key, limit, windowMs) {
      const now = Date.now();
      const window = Math.floor(now / windowMs);
      const k = `${prefix}:ratelimit:${key}:${window}`;
      const granted = (await redis.eval(TAKE, 1, k, limit, windowMs * 2)) === 1;
      return granted ? 0 : (window + 1) * windowMs - now;
    },
  };
}
