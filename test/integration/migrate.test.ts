import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, type Database } from '../../src/db/database.js';
import { migrate } from '../../src/db/migrate.js';
import { migrations } from '../../src/db/migrations/index.js';
import { migrationsWithSandbox } from '../../src/sandbox/migrations/index.js';
import { createTestDatabase } from '../support/db.js';

/** The release step: each migration commits with its own record, on one connection, once however many run it. */
let t: Awaited<ReturnType<typeof createTestDatabase>>;
const extra = (name: string, up: string) => [...migrations, { name, up }];
const tables = async (db: Database) =>
  (await db.rows<{ t: string }>("SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE 'mig_%'")).map((r) => r.t).sort();
const recorded = async (db: Database) => (await db.rows<{ name: string }>('SELECT name FROM schema_migrations ORDER BY name')).map((r) => r.name);

beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(() => t?.drop());

describe('migrate', () => {
  it('has applied every migration once; a second run applies nothing', async () => {
    // Test databases carry the sandbox's set too (tests run with SANDBOX=1).
    expect(await recorded(t.db)).toEqual(migrationsWithSandbox.map((m) => m.name).sort());
    expect(await migrate(t.db)).toEqual([]);
    expect(await migrate(t.db, undefined, migrationsWithSandbox)).toEqual([]);
  });

  it('leaves neither the DDL nor the record of a migration that fails, and keeps those before it', async () => {
    const list = [...extra('900001-good', 'CREATE TABLE mig_good (id int)'), { name: '900002-bad', up: 'CREATE TABLE mig_bad (id int); SELECT no_such_function()' }];
    await expect(migrate(t.db, undefined, list)).rejects.toThrow(/no_such_function/);
    expect(await tables(t.db)).toEqual(['mig_good']);
    expect(await recorded(t.db)).toContain('900001-good');
    expect(await recorded(t.db)).not.toContain('900002-bad');
  });

  it('applies a new migration once when several processes release at the same time', async () => {
    const list = extra('900003-once', 'CREATE TABLE mig_once (id int); SELECT pg_sleep(0.2)');
    const dbs = Array.from({ length: 3 }, () => createDatabase(t.url, { poolMax: 2 }));
    try {
      const results = await Promise.all(dbs.map((db) => migrate(db, undefined, list)));
      expect(results.flat().filter((n) => n === '900003-once')).toHaveLength(1);
      expect(await tables(t.db)).toContain('mig_once');
    } finally {
      await Promise.all(dbs.map((db) => db.close()));
    }
  });
});
