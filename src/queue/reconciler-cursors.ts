import type { Cursor, ReconcilerDeps, Stream } from '../domain/reconciler.js';
import { bullPrefix, type RedisClient } from './redis.js';

/**
 * Where each of the reconciler's walks stopped, shared by every worker process (a tick runs on whichever
 * takes it). A cursor Redis forgets costs one walk from the oldest candidate again, nothing more.
 */
export function createReconcilerCursors(redis: RedisClient, queuePrefix: string): ReconcilerDeps['cursors'] {
  const key = (stream: Stream) => `${bullPrefix(queuePrefix)}:reconciler:${stream}`;
  return {
    async get(stream) {
      const raw = await redis.get(key(stream));
      return raw ? (JSON.parse(raw) as Cursor) : null;
    },
    async set(stream, cursor: Cursor | null) {
      if (cursor) await redis.set(key(stream), JSON.stringify(cursor));
      else await redis.del(key(stream));
    },
  };
}
