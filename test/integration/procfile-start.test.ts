import { once } from 'node:events';
import { createServer, type Server } from 'node:net';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, PG_ADMIN_URL, REDIS_URL, testQueuePrefix } from '../support/db.js';
import { spawnWeb } from '../support/processes.js';

/** A Procfile `web` that cannot start says why in one line and exits 1: no stack trace, nothing left running. */

let migrated: Awaited<ReturnType<typeof createTestDatabase>>;
const empty = `ow_test_${randomBytes(6).toString('hex')}`;
const admin = async (sql: string) => {
  const c = new pg.Client({ connectionString: PG_ADMIN_URL });
  await c.connect();
  await c.query(sql).finally(() => c.end());
};

beforeAll(async () => {
  migrated = await createTestDatabase();
  await admin(`CREATE DATABASE ${empty}`);
});
afterAll(async () => {
  await migrated?.drop();
  await admin(`DROP DATABASE IF EXISTS ${empty} WITH (FORCE)`);
});

const env = (databaseUrl: string, port: number) => ({
  DATABASE_URL: databaseUrl, REDIS_URL, PORT: String(port), QUEUE_PREFIX: testQueuePrefix(), ADMIN_USER: 'ops', ADMIN_PASSWORD: 'ops-secret-pw',
  SANDBOX: '1', LOG_LEVEL: 'info', LOG_FORMAT: 'json',
});

async function failedStart(e: Record<string, string>) {
  const child = spawnWeb(e);
  const [code] = (await once(child, 'exit')) as [number | null];
  const lines = child.output.join('').split('\n').filter((l) => l.trim() && !l.startsWith('{'));
  return { code, lines };
}

describe('a web process that cannot start', () => {
  it('against a database with no schema: one line that says to run the release step', async () => {
    const { code, lines } = await failedStart(env(PG_ADMIN_URL.replace(/\/[^/]*$/, `/${empty}`), 0));
    expect(code).toBe(1);
    expect(lines).toEqual([expect.stringMatching(/^orderworks web: cannot start: the database has no orderworks schema yet.*npm run migrate/)]);
  });

  it('on a port in use: one line naming the port and PORT', async () => {
    const taken: Server = createServer();
    await new Promise<void>((resolve) => taken.listen(0, resolve));
    const port = (taken.address() as { port: number }).port;
    try {
      const { code, lines } = await failedStart(env(migrated.url, port));
      expect(code).toBe(1);
      expect(lines).toEqual([`orderworks web: port ${port} is already in use (another orderworks, or another program): stop it, or choose another port with PORT=...`]);
    } finally {
      taken.close();
    }
  });
});
