import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import { QUEUE_NAMES } from '../jobs/index.js';
import { createDatabase } from '../src/db/database.js';
import { migrate } from '../src/db/migrate.js';
import { migrationsWithSandbox } from '../src/sandbox/migrations/index.js';
import { freePort } from '../src/local/local-services.js';
import { bullPrefix } from '../src/queue/redis.js';
import { childPids, peakRss, sleep, spawnProcess, spawnWeb, stop, type Child } from './processes.js';
import type { BenchSettings } from './settings.js';

/**
 * The system under test: a fresh database and queue prefix, the `web` process as a child, and `worker`
 * children started and stopped as scenarios need (a backlog is queued with no worker running).
 */
export interface BenchSystem {
  base: string;
  /** The sandbox provider process's /sandbox (SANDBOX_BASE_URL of web and worker). */
  sandboxBase: string;
  env: Record<string, string>;
  databaseUrl: string;
  prefix: string;
  /** The bench's own connections: counts, scratch tables, baselines. */
  pool: pg.Pool;
  redis: Redis;
  /** The web process (with BENCH_WEB_PROCESSES > 1, the cluster primary in front of the copies). */
  web: Child;
  /** Every web process: the one, or the primary and its copies. */
  webPids(): number[];
  /** The sandbox providers and carrier, a process of their own so that their CPU is not the web's. */
  sandbox: Child;
  /** The first worker process while workers run (BENCH_WORKER_PROCESSES of them). */
  worker: Child | undefined;
  workers: Child[];
  startWorker(): Promise<Child>;
  stopWorker(): Promise<void>;
  /** Peak RSS in bytes per role, the worker's over every worker child this run started. */
  peaks(): { web: number; worker: number };
  /** Lines written by the web process and by every worker child (at LOG_LEVEL=warn: its warnings). */
  logLines(): { web: number; worker: number };
  children(): Child[];
  close(): Promise<void>;
}

async function admin(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

async function waitReady(base: string, child: Child, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (child.proc.exitCode !== null) throw new Error(`${child.name} exited (${child.proc.exitCode}):\n${child.tail.join('\n')}`);
    const ok = await fetch(`${base}/readyz`).then((r) => r.ok, () => false);
    if (ok) return;
    await sleep(100);
  }
  throw new Error(`${child.name} not ready after ${ms} ms:\n${child.tail.join('\n')}`);
}

/** Each process connects under a name of its own, so that bench/cpu.ts can put every Postgres backend down to one. */
export const APP_NAMES = { web: 'ow-web', worker: 'ow-worker', sandbox: 'ow-sandbox', bench: 'ow-bench' } as const;
const named = (url: string, name: string) => `${url}${url.includes('?') ? '&' : '?'}application_name=${name}`;

export async function startBenchSystem(settings: BenchSettings): Promise<BenchSystem> {
  const id = randomBytes(5).toString('hex');
  const dbName = `ow_bench_${id}`;
  await admin(settings.databaseAdminUrl, `CREATE DATABASE ${dbName}`);
  const databaseUrl = settings.databaseAdminUrl.replace(/\/[^/]*$/, `/${dbName}`);
  const migrations = createDatabase(databaseUrl, { poolMax: 2 });
  await migrate(migrations, undefined, migrationsWithSandbox);
  await migrations.close();

  const port = await freePort();
  const sandboxPort = await freePort();
  const prefix = `owbench${id}`;
  const base = `http://127.0.0.1:${port}`;
  const sandboxBase = `http://127.0.0.1:${sandboxPort}/sandbox`;
  // Web and worker call the providers and the carrier at the sandbox process; it notifies web at PUBLIC_URL.
  const env = {
    ...settings.system, DATABASE_URL: named(databaseUrl, APP_NAMES.web), REDIS_URL: settings.redisUrl, QUEUE_PREFIX: prefix, PORT: String(port),
    PUBLIC_URL: base, SANDBOX_BASE_URL: sandboxBase,
  };
  const workerEnv = { ...env, DATABASE_URL: named(databaseUrl, APP_NAMES.worker) };
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 4, application_name: APP_NAMES.bench });
  const redis = new Redis(settings.redisUrl, { maxRetriesPerRequest: null });
  const sandbox = spawnProcess(settings, 'sandbox', {
    DATABASE_URL: named(databaseUrl, APP_NAMES.sandbox), PORT: String(sandboxPort), PUBLIC_URL: base, SANDBOX_BASE_URL: sandboxBase,
    DB_POOL_MAX: settings.system.DB_POOL_MAX!, LOG_LEVEL: settings.system.LOG_LEVEL!, NODE_ENV: settings.system.NODE_ENV!,
  });
  const web = spawnWeb(settings, env, settings.webProcesses);
  const workerPeaks: number[] = [];
  let workerLines = 0;
  let workers: Child[] = [];

  const system: BenchSystem = {
    base, sandboxBase, env, databaseUrl, prefix, pool, redis, web, sandbox,
    get worker() {
      return workers[0];
    },
    get workers() {
      return workers;
    },
    webPids: () => [web.proc.pid!, ...childPids(web.proc.pid)],
    async startWorker() {
      if (workers.length) throw new Error('a worker is already running');
      workers = Array.from({ length: settings.workerProcesses }, () => spawnProcess(settings, 'worker', workerEnv));
      return workers[0]!;
    },
    async stopWorker() {
      const stopping = workers;
      workers = [];
      for (const w of stopping) workerPeaks.push(peakRss(w.proc.pid));
      await Promise.all(stopping.map((w) => stop(w)));
      for (const w of stopping) workerLines += w.lines;
    },
    peaks: () => ({ web: peakRss(web.proc.pid), worker: Math.max(0, ...workerPeaks, ...workers.map((w) => peakRss(w.proc.pid))) }),
    logLines: () => ({ web: web.lines, worker: workerLines + workers.reduce((n, w) => n + w.lines, 0) }),
    children: () => [web, sandbox, ...workers],
    async close() {
      process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
      await system.stopWorker().catch(() => undefined);
      await stop(web).catch(() => undefined);
      await stop(sandbox).catch(() => undefined);
      await obliterate(redis, prefix).catch(() => undefined);
      redis.disconnect();
      await pool.end().catch(() => undefined);
      // A shared Postgres can be out of connections for a moment ("too many clients"): try a few times.
      for (let attempt = 1; ; attempt++) {
        try {
          await admin(settings.databaseAdminUrl, `DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
          break;
        } catch (error) {
          if (attempt >= 5) throw error;
          await sleep(2_000);
        }
      }
    },
  };
  // Ctrl-C still stops the children and drops the database and queues.
  const onSignal = () => void system.close().finally(() => process.exit(130));
  process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
  try {
    await waitReady(sandboxBase.replace(/\/sandbox$/, ''), sandbox, 60_000);
    await waitReady(base, web, 60_000);
  } catch (error) {
    await system.close();
    throw error;
  }
  return system;
}

/** Every queue of this run, then whatever keys are left under its prefix (job schedulers, raw queues). */
async function obliterate(redis: Redis, prefix: string): Promise<void> {
  for (const name of QUEUE_NAMES) {
    const q = new Queue(name, { connection: redis, prefix: bullPrefix(prefix) });
    await q.obliterate({ force: true }).catch(() => undefined);
    await q.close();
  }
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${bullPrefix(prefix)}:*`, 'COUNT', 1000);
    if (keys.length) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
}
