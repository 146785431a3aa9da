import type { PoolClient } from 'pg';
import { type Database, sequelizeOf } from './database.js';
import { migrations as all } from './migrations/index.js';
import type { Logger } from '../logger.js';

/** An arbitrary constant: the advisory lock that makes concurrent `release` runs take turns. */
const MIGRATION_LOCK = 720_401;

/**
 * Applies pending migrations, idempotent and safe to run from several processes at once. Everything happens on
 * one connection: it takes the advisory lock, then runs each pending migration in a transaction of its own that
 * also records it, so a migration and its record commit together or not at all.
 */
export async function migrate(db: Database, logger?: Logger, migrations = all): Promise<string[]> {
  const conn = (await sequelizeOf(db).connectionManager.getConnection({ type: 'write' })) as unknown as PoolClient;
  try {
    await conn.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    try {
      // `name varchar(255)` is the shape the table had when umzug kept it, so older databases read the same.
      await conn.query('CREATE TABLE IF NOT EXISTS schema_migrations (name varchar(255) PRIMARY KEY)');
      const done = new Set((await conn.query<{ name: string }>('SELECT name FROM schema_migrations')).rows.map((r) => r.name));
      const applied: string[] = [];
      for (const m of migrations.filter((x) => !done.has(x.name))) {
        await inTransaction(conn, async () => {
          await conn.query('INSERT INTO schema_migrations (name) VALUES ($1)', [m.name]);
          await conn.query(m.up);
        });
        applied.push(m.name);
      }
      if (applied.length) logger?.info({ migrations: applied }, 'migrations applied');
      return applied;
    } finally {
      await conn.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
    }
  } finally {
    sequelizeOf(db).connectionManager.releaseConnection(conn as never);
  }
}

async function inTransaction(conn: PoolClient, fn: () => Promise<void>) {
  await conn.query('BEGIN');
  try {
    await fn();
    await conn.query('COMMIT');
  } catch (error) {
    await conn.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}
