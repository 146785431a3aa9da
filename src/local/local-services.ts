import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { LocalHooks } from './child.js';
import { startPostgres } from './postgres-server.js';
import { startRedis } from './redis-server.js';

export { freePort } from './ports.js';
export { MissingPrerequisite } from './start-error.js';

/**
 * Local mode (docs/api.md section 1): when DATABASE_URL or REDIS_URL is unset, `npm start` runs that
 * service itself with its data under `.data/`, so a newcomer needs nothing but Node and redis-server.
 */
export interface LocalServices {
  env: Record<string, string>;
  notes: string[];
}

/**
 * Starts what the environment does not name, side by side. Each service's stop is in `hooks.teardown`
 * from the moment it runs, so a failure or a Ctrl-C at any point stops whatever did start.
 */
export async function provideLocalServices(env: NodeJS.ProcessEnv, dataDir: string, hooks: LocalHooks): Promise<LocalServices> {
  mkdirSync(dataDir, { recursive: true });
  const redisDir = path.join(dataDir, 'redis');
  const [redis, postgres] = await Promise.allSettled([
    env.REDIS_URL || env.REDIS_CLUSTER_NODES ? undefined : startRedis(redisDir, hooks),
    env.DATABASE_URL ? undefined : startPostgres(dataDir, hooks),
  ]);
  for (const started of [redis, postgres]) if (started.status === 'rejected') throw started.reason;

  const provided: Record<string, string> = {};
  const notes: string[] = [];
  if (redis.status === 'fulfilled' && redis.value) {
    provided.REDIS_URL = redis.value.url;
    notes.push(`Redis      ${redis.value.url} (local, data in ${redisDir})`);
  }
  if (postgres.status === 'fulfilled' && postgres.value) {
    provided.DATABASE_URL = postgres.value.url;
    notes.push(`Postgres   ${postgres.value.shownUrl} (embedded, data in ${postgres.value.dataDir}, password in ${path.join(dataDir, 'postgres.json')})`);
  }
  if (!env.ADMIN_PASSWORD) Object.assign(provided, localAdmin(dataDir, env.ADMIN_USER));
  return { env: provided, notes };
}

/** Operator credentials for local mode, made once and kept in .data/ so they stay the same across runs. */
function localAdmin(dataDir: string, user = 'admin'): Record<string, string> {
  const file = path.join(dataDir, 'admin.json');
  if (!existsSync(file)) {
    writeFileSync(file, JSON.stringify({ user, password: randomBytes(12).toString('base64url') }), { mode: 0o600 });
  }
  const saved = JSON.parse(readFileSync(file, 'utf8')) as { user: string; password: string };
  return { ADMIN_USER: saved.user, ADMIN_PASSWORD: saved.password };
}
