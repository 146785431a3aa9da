import { sleep } from './processes.js';
import type { BenchSystem } from './system.js';

/**
 * Work done on the servers per order, to say where the time goes: Postgres transactions committed or rolled
 * back in this run's database (every autocommit statement is one), and Redis commands executed (whole
 * server, commands run inside Lua scripts included). Both include the bench's own few polls.
 */
export interface Counters {
  pgTransactions: number;
  redisCommands: number;
}

/**
 * Postgres backends publish their statistics when they go idle, at most once a second, and a backend idle
 * in a pool only after 10 s: `settle` waits that out. Without it, only the Redis count is exact.
 */
export async function readCounters(sys: BenchSystem, settle = true): Promise<Counters> {
  if (settle) await sleep(10_500);
  const { rows: [pg] } = await sys.pool.query<{ n: string }>(
    'SELECT (xact_commit + xact_rollback)::text AS n FROM pg_stat_database WHERE datname = current_database()',
  );
  const stats = await sys.redis.info('commandstats');
  let redisCommands = 0;
  for (const m of stats.matchAll(/calls=(\d+)/g)) redisCommands += Number(m[1]);
  return { pgTransactions: Number(pg!.n), redisCommands };
}

export const perOrder = (before: Counters, after: Counters, orders: number, withPostgres = true) =>
  [
    ...(withPostgres ? [`${((after.pgTransactions - before.pgTransactions) / orders).toFixed(1)} Postgres transactions`] : []),
    `${((after.redisCommands - before.redisCommands) / orders).toFixed(1)} Redis commands`,
  ].join(', ');
