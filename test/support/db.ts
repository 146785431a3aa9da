import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createDatabase, type Database } from '../../src/db/database.js';
import { migrate } from '../../src/db/migrate.js';
import { migrationsWithSandbox } from '../../src/sandbox/migrations/index.js';

export const PG_ADMIN_URL = process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: PG_ADMIN_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/**
 * A fresh, migrated database for one test file; `drop()` removes it. The sandbox's tables are there too
 * (tests run with SANDBOX=1) unless `sandbox: false` asks for a production schema.
 */
export async function createTestDatabase(opts: { sandbox?: boolean } = {}): Promise<{ url: string; name: string; db: Database; drop(): Promise<void> }> {
  const name = `ow_test_${randomBytes(6).toString('hex')}`;
  await admin(`CREATE DATABASE ${name}`);
  const url = PG_ADMIN_URL.replace(/\/[^/]*$/, `/${name}`);
  const db = createDatabase(url, { poolMax: 10 });
  await migrate(db, undefined, opts.sandbox === false ? undefined : migrationsWithSandbox);
  return {
    url,
    name,
    db,
    async drop() {
      await db.close().catch(() => undefined);
      await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}

/** A random BullMQ prefix per test, so runs never share queues. */
export const testQueuePrefix = () => `owtest${randomBytes(5).toString('hex')}`;

/** The types of an order's outbox events, in the order they were recorded: what the shop is told, and when. */
export const orderEventTypes = async (db: Database, orderId: string) =>
  (await db.rows<{ type: string }>('SELECT type FROM order_events WHERE order_id = $1 ORDER BY seq', [orderId])).map((e) => e.type);
