import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';

/**
 * Local mode (docs/api.md section 1): when DATABASE_URL or REDIS_URL is unset, `npm start` runs that
 * service itself with its data under `.data/`, so a newcomer needs nothing but Node and redis-server.
 */
export class MissingPrerequisite extends Error {}

export interface LocalServices {
  env: Record<string, string>;
  notes: string[];
  stop(): Promise<void>;
}

export async function provideLocalServices(env: NodeJS.ProcessEnv, dataDir: string): Promise<LocalServices> {
  mkdirSync(dataDir, { recursive: true });
  const provided: Record<string, string> = {};
  const notes: string[] = [];
  const stops: Array<() => Promise<void>> = [];
  try {
    if (!env.REDIS_URL && !env.REDIS_CLUSTER_NODES) {
      const redis = await startRedis(path.join(dataDir, 'redis'));
      stops.push(redis.stop);
      provided.REDIS_URL = redis.url;
      notes.push(`Redis      ${redis.url} (local, data in ${path.join(dataDir, 'redis')})`);
    }
    if (!env.DATABASE_URL) {
      const pg = await startPostgres(path.join(dataDir, 'postgres'));
      stops.push(pg.stop);
      provided.DATABASE_URL = pg.url;
      notes.push(`Postgres   ${pg.url} (embedded, data in ${path.join(dataDir, 'postgres')})`);
    }
    if (!env.ADMIN_PASSWORD) {
      Object.assign(provided, localAdmin(dataDir, env.ADMIN_USER));
    }
  } catch (error) {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    throw error;
  }
  return {
    env: provided,
    notes,
    async stop() {
      for (const stop of stops.reverse()) await stop().catch(() => undefined);
    },
  };
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

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

async function startRedis(dir: string): Promise<{ url: string; stop(): Promise<void> }> {
  if (spawnSync('redis-server', ['--version']).error) {
    throw new MissingPrerequisite(
      'redis-server is not installed: install it (Debian/Ubuntu: `apt-get install -y redis-server`, macOS: `brew install redis`) or set REDIS_URL',
    );
  }
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const child: ChildProcess = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--save', '', '--maxmemory-policy', 'noeviction'],
    { stdio: 'ignore', detached: true }, // its own process group: stopped by us, after our own shutdown
  );
  const url = `redis://127.0.0.1:${port}`;
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => undefined); // connection refused while it boots: retried below
  for (let i = 0; ; i++) {
    try {
      await probe.connect();
      await probe.ping();
      break;
    } catch {
      if (i > 50 || child.exitCode !== null) throw new Error(`redis-server did not start on port ${port}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  probe.disconnect();
  return {
    url,
    stop: async () => {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
    },
  };
}

async function startPostgres(dir: string): Promise<{ url: string; stop(): Promise<void> }> {
  const port = await freePort();
  const password = 'orderworks-local';
  const script = fileURLToPath(new URL(`./postgres-child${path.extname(fileURLToPath(import.meta.url))}`, import.meta.url));
  const child = spawn(process.execPath, [...process.execArgv, script, JSON.stringify({ dir, port, password })], {
    detached: true, // its own process group: the terminal's Ctrl-C is for us, and we stop it last
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  await new Promise<void>((resolve, reject) => {
    child.once('message', (m) => (m === 'ready' ? resolve() : reject(new Error(String(m)))));
    child.once('exit', (code) => reject(new Error(`embedded Postgres exited with code ${code}`)));
  });
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/orderworks`,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.send('stop');
      await exited;
    },
  };
}
