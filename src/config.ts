import { z } from 'zod';
import type { LogFormat } from './logger.js';
import { providerEnv, providerSettings, type ProviderSettings } from './config-providers.js';
import { QUEUE_NAMES, type QueueName } from '../jobs/index.js';

/**
 * The one place that reads the environment. `loadConfig` parses it once at boot and returns a frozen,
 * typed object; everything else receives that object. A bad value throws a ConfigError naming the variable.
 */

const flag = z.enum(['0', '1']).transform((v) => v === '1');
const positiveInt = z.coerce.number().int().positive();
const url = (protocols: string[]) =>
  z.string().refine((v) => {
    try {
      return protocols.includes(new URL(v).protocol);
    } catch {
      return false;
    }
  }, `must be a ${protocols.join(' or ')}// URL`);

const schema = z.object({
  NODE_ENV: z.string().default('development'),
  DATABASE_URL: url(['postgres:', 'postgresql:']).optional(),
  REDIS_URL: url(['redis:', 'rediss:']).optional(),
  /** host:port,host:port: seed nodes of a Redis Cluster; replaces REDIS_URL. */
  REDIS_CLUSTER_NODES: z.string().regex(/^[\w.-]+:\d{1,5}(,[\w.-]+:\d{1,5})*$/, 'must be host:port[,host:port...]').optional(),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  QUEUE_PREFIX: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, _ . - only (1 to 64)').default('orderworks'),
  /** How many hash tags (shards) the queues spread over: 1 keeps every key under `{QUEUE_PREFIX}`. */
  QUEUE_SHARDS: z.coerce.number().int('must be a whole number').min(1, 'must be at least 1').max(64, 'must be at most 64').default(1),
  /** The shards this worker process serves (`0,2`); unset: all of them. */
  WORKER_SHARDS: z.string().optional(),
  ADMIN_USER: z.string().min(1).optional(),
  ADMIN_PASSWORD: z.string().min(8, 'at least 8 characters').optional(),
  /** A second, read-only login for the dashboard. */
  ADMIN_VIEWER_USER: z.string().min(1).optional(),
  ADMIN_VIEWER_PASSWORD: z.string().min(8, 'at least 8 characters').optional(),
  /** Worker processes serve their own /metrics (job durations and outcomes) on this port when set. */
  METRICS_PORT: z.coerce.number().int().min(1).max(65535).optional(),
  METRICS_TOKEN: z.string().min(16, 'at least 16 characters').optional(),
  WORKER_CONCURRENCY: positiveInt.max(1000).optional(),
  /** The order-placement queue's own, over WORKER_CONCURRENCY: its jobs share transactions, not connections. */
  WORKER_CONCURRENCY_ORDER_PLACEMENT: positiveInt.max(1000).optional(),
  WORKER_QUEUES: z.string().optional(),
  SANDBOX: flag.optional(),
  TRACKING_REFRESH_EVERY_MS: positiveInt.default(15 * 60_000),
  /** A parcel without news from its carrier for this long is delayed. */
  TRACKING_STALE_AFTER_MS: positiveInt.default(48 * 3_600_000),
  WEBHOOK_ALLOW_PRIVATE_NETWORKS: flag.optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** `auto`: readable lines when stdout is a terminal, JSON otherwise (a log collector, a file, a pipe). */
  LOG_FORMAT: z.enum(['auto', 'json', 'pretty']).default('auto'),
  /** How long a crashed worker's job stays locked before BullMQ hands it to another worker. */
  JOB_LOCK_MS: positiveInt.default(30_000),
  WORKER_WATCHDOG_MS: positiveInt.default(10_000),
  /** How often the reconciler runs, and how old work left without a job must be before it is restarted. */
  SWEEP_EVERY_MS: positiveInt.default(30_000),
  SWEEP_STALE_AFTER_MS: positiveInt.default(60_000),
  /** Base delay of the exponential retry backoff of every queue (tests shrink it). */
  RETRY_BASE_DELAY_MS: positiveInt.default(1_000),
  DB_POOL_MAX: positiveInt.max(200).default(20),
  BODY_LIMIT_BYTES: positiveInt.default(1_048_576),
  /** Provider notifications (unauthenticated): largest body, bodies in hand at once, time for a body to arrive. */
  NOTIFY_BODY_LIMIT_BYTES: positiveInt.default(65_536),
  NOTIFY_MAX_CONCURRENT: positiveInt.default(64),
  NOTIFY_BODY_TIMEOUT_MS: positiveInt.default(10_000),
  /**
   * A carrier's push carries the waybill's whole history (Kuaidi100: every event, URL-encoded), so a parcel on a
   * long route outgrows a payment notification's limit; past this it is refused 413 and left to the polls.
   */
  CARRIER_PUSH_BODY_LIMIT_BYTES: positiveInt.default(524_288),
  /** Where this deployment's web process is reached (provider notify URLs, the sandbox). */
  PUBLIC_URL: url(['http:', 'https:']).optional(),
  /** Where the bundled sandbox providers and carrier are served; defaults to PUBLIC_URL + /sandbox. */
  SANDBOX_BASE_URL: url(['http:', 'https:']).optional(),
  /** Base delay of the payment queues' backoff: minutes-scale outages need a base of tens of seconds. */
  PAYMENT_RETRY_BASE_MS: positiveInt.default(30_000),
  /** How long one provider call may take before it counts as a timeout (an ambiguous outcome). */
  PAYMENT_TIMEOUT_MS: positiveInt.default(10_000),
  /** How long a placed order holds its stock without a capture in flight before it ends payment_timeout. */
  HOLD_EXPIRES_MS: positiveInt.default(30 * 60_000),
  /** Base delay of webhook retries: doubling from it up to an hour, then hourly, for at least 24 hours. */
  WEBHOOK_RETRY_BASE_MS: positiveInt.default(10_000),
  /** Requests per second each shop may make to one web process (429 past it); 0 turns the limit off. */
  SHOP_RATE_LIMIT_PER_SECOND: z.coerce.number().int().min(0).default(2_000),
  OPERATOR_AUTH_FAILURES_PER_MINUTE: z.coerce.number().int().min(1).default(10),
  /** Calls per second to each carrier, shared by all worker processes. */
  CARRIER_CALLS_PER_SECOND: positiveInt.default(10),
  /** Caps (409 past them): shipments on one order, a shop's parcels not yet final, returns on one order. */
  SHIPMENTS_PER_ORDER_MAX: positiveInt.default(20),
  OPEN_SHIPMENTS_PER_SHOP_MAX: positiveInt.default(100_000),
  RETURNS_PER_ORDER_MAX: positiveInt.default(10),
  ...providerEnv,
});

export interface Config {
  readonly mode: 'local' | 'deployed';
  readonly production: boolean;
  readonly databaseUrl: string;
  readonly redisUrl: string;
  readonly redisClusterNodes: readonly string[];
  readonly port: number;
  readonly queuePrefix: string;
  readonly admin: { readonly user: string; readonly password: string };
  readonly viewer: { readonly user: string; readonly password: string } | null;
  readonly metricsPort: number | null;
  /** `Authorization: Bearer` token a Prometheus scraper may use on /metrics instead of operator credentials. */
  readonly metricsToken: string | null;
  readonly workerConcurrency: Readonly<Record<QueueName, number>>;
  readonly workerQueues: readonly QueueName[];
  /** QUEUE_SHARDS: the shards of the deployment's queues (src/queue/shards.ts). */
  readonly queueShards: number;
  /** The shards whose queues this worker process serves, ascending. */
  readonly workerShards: readonly number[];
  readonly sandbox: boolean;
  readonly trackingRefreshEveryMs: number;
  readonly trackingStaleAfterMs: number;
  readonly webhookAllowPrivateNetworks: boolean;
  readonly logLevel: string;
  readonly logFormat: LogFormat;
  readonly jobLockMs: number;
  /** How long jobs may wait on a worker with a free slot that takes none before it is replaced. */
  readonly workerWatchdogMs: number;
  readonly sweepEveryMs: number;
  readonly sweepStaleAfterMs: number;
  readonly retryBaseDelayMs: number;
  readonly dbPoolMax: number;
  readonly bodyLimitBytes: number;
  readonly notify: { readonly limitBytes: number; readonly maxConcurrent: number; readonly timeoutMs: number };
  /** The notify bounds for carriers' pushes: their own body limit, the same concurrency and time. */
  readonly carrierPush: { readonly limitBytes: number; readonly maxConcurrent: number; readonly timeoutMs: number };
  readonly publicUrl: string;
  readonly sandboxBaseUrl: string;
  readonly paymentRetryBaseMs: number;
  readonly paymentTimeoutMs: number;
  readonly holdExpiresMs: number;
  readonly webhookRetryBaseMs: number;
  readonly carrierCallsPerSecond: number;
  /** How many of something one order or shop may have (order-rules LIMITS): 409 past it. */
  readonly limits: { readonly shipmentsPerOrder: number; readonly openShipmentsPerShop: number; readonly returnsPerOrder: number };
  readonly shopRateLimitPerSecond: number;
  /** Wrong operator credentials one address may present in a minute before it gets 429. */
  readonly operatorAuthFailuresPerMinute: number;
  readonly providers: ProviderSettings;
}

export class ConfigError extends Error {
  constructor(readonly variable: string, message: string) {
    super(`invalid configuration: ${variable}: ${message}`);
    this.name = 'ConfigError';
  }
}

/** Sensible in-flight jobs per queue: placement is short database work, capture waits on a provider. */
const DEFAULT_CONCURRENCY: Record<QueueName, number> = {
  // Placement jobs wait for a group commit (two batches in flight, each one connection): the more jobs in
  // flight, the larger the batches that form.
  'order-placement': 64,
  'payment-capture': 32,
  'payment-refund': 8,
  'tracking-poll': 4,
  // Each delivery run holds a pooled connection for its per-order lock: stay well under DB_POOL_MAX.
  'webhook-delivery': 8,
  maintenance: 1,
};

/** `local`: `npm start` provisioned Postgres and/or Redis itself (contract section 1, local mode). */
/**
 * `role`: each process asks only for what it uses. The operator credentials guard `web`'s /admin and /v1/admin,
 * which a `worker` serves only for its /metrics (METRICS_PORT), where METRICS_TOKEN does as well; `release` has
 * its own, smaller loader (loadReleaseConfig).
 */
export function loadConfig(env: NodeJS.ProcessEnv, options: { local?: boolean; role?: 'web' | 'worker' } = {}): Config {
  const e = parse(schema, env);
  const mode = options.local ? 'local' : 'deployed';
  const databaseUrl = requireDatabaseUrl(e.DATABASE_URL);
  const clusterNodes = e.REDIS_CLUSTER_NODES?.split(',') ?? [];
  if (!e.REDIS_URL && !clusterNodes.length) throw new ConfigError('REDIS_URL', 'is required (or run `npm start`, which provides Redis itself)');
  const operatorLogin = Boolean(e.ADMIN_USER && e.ADMIN_PASSWORD);
  if (mode === 'deployed' && (options.role ?? 'web') === 'web' && !operatorLogin) {
    throw new ConfigError(e.ADMIN_USER ? 'ADMIN_PASSWORD' : 'ADMIN_USER', 'is required outside local mode');
  }
  if (mode === 'deployed' && options.role === 'worker' && e.METRICS_PORT && !operatorLogin && !e.METRICS_TOKEN) {
    throw new ConfigError('METRICS_PORT', 'needs ADMIN_USER and ADMIN_PASSWORD, or METRICS_TOKEN, to guard /metrics');
  }
  checkKuaidi100Push(e);
  checkViaKuaidi100(e);
  const workerQueues = parseQueues(e.WORKER_QUEUES);
  const workerShards = parseShards(e.WORKER_SHARDS, e.QUEUE_SHARDS);
  const concurrency = Object.fromEntries(
    QUEUE_NAMES.map((q) => [q, q === 'maintenance' ? 1 : (e.WORKER_CONCURRENCY ?? DEFAULT_CONCURRENCY[q])]),
  ) as Record<QueueName, number>;
  concurrency['order-placement'] = e.WORKER_CONCURRENCY_ORDER_PLACEMENT ?? concurrency['order-placement'];
  const publicUrl = (e.PUBLIC_URL ?? `http://127.0.0.1:${e.PORT}`).replace(/\/+$/, '');
  return Object.freeze({
    mode,
    production: e.NODE_ENV === 'production',
    databaseUrl,
    redisUrl: e.REDIS_URL ?? '',
    redisClusterNodes: Object.freeze(clusterNodes),
    port: e.PORT,
    queuePrefix: e.QUEUE_PREFIX,
    admin: Object.freeze({ user: e.ADMIN_USER ?? 'admin', password: e.ADMIN_PASSWORD ?? '' }),
    viewer: e.ADMIN_VIEWER_USER && e.ADMIN_VIEWER_PASSWORD ? Object.freeze({ user: e.ADMIN_VIEWER_USER, password: e.ADMIN_VIEWER_PASSWORD }) : null,
    metricsPort: e.METRICS_PORT ?? null,
    metricsToken: e.METRICS_TOKEN ?? null,
    workerConcurrency: Object.freeze(concurrency),
    workerQueues: Object.freeze(workerQueues),
    queueShards: e.QUEUE_SHARDS,
    workerShards: Object.freeze(workerShards),
    sandbox: e.SANDBOX ?? mode === 'local',
    trackingRefreshEveryMs: e.TRACKING_REFRESH_EVERY_MS,
    trackingStaleAfterMs: e.TRACKING_STALE_AFTER_MS,
    webhookAllowPrivateNetworks: e.WEBHOOK_ALLOW_PRIVATE_NETWORKS ?? mode === 'local',
    logLevel: e.LOG_LEVEL,
    logFormat: e.LOG_FORMAT,
    jobLockMs: e.JOB_LOCK_MS,
    workerWatchdogMs: e.WORKER_WATCHDOG_MS,
    sweepEveryMs: e.SWEEP_EVERY_MS,
    sweepStaleAfterMs: e.SWEEP_STALE_AFTER_MS,
    retryBaseDelayMs: e.RETRY_BASE_DELAY_MS,
    dbPoolMax: e.DB_POOL_MAX,
    bodyLimitBytes: e.BODY_LIMIT_BYTES,
    notify: Object.freeze({ limitBytes: e.NOTIFY_BODY_LIMIT_BYTES, maxConcurrent: e.NOTIFY_MAX_CONCURRENT, timeoutMs: e.NOTIFY_BODY_TIMEOUT_MS }),
    carrierPush: Object.freeze({ limitBytes: e.CARRIER_PUSH_BODY_LIMIT_BYTES, maxConcurrent: e.NOTIFY_MAX_CONCURRENT, timeoutMs: e.NOTIFY_BODY_TIMEOUT_MS }),
    publicUrl,
    sandboxBaseUrl: e.SANDBOX_BASE_URL ?? `${publicUrl}/sandbox`,
    paymentRetryBaseMs: e.PAYMENT_RETRY_BASE_MS,
    paymentTimeoutMs: e.PAYMENT_TIMEOUT_MS,
    holdExpiresMs: e.HOLD_EXPIRES_MS,
    webhookRetryBaseMs: e.WEBHOOK_RETRY_BASE_MS,
    carrierCallsPerSecond: e.CARRIER_CALLS_PER_SECOND,
    limits: Object.freeze({
      shipmentsPerOrder: e.SHIPMENTS_PER_ORDER_MAX,
      openShipmentsPerShop: e.OPEN_SHIPMENTS_PER_SHOP_MAX,
      returnsPerOrder: e.RETURNS_PER_ORDER_MAX,
    }),
    shopRateLimitPerSecond: e.SHOP_RATE_LIMIT_PER_SECOND,
    operatorAuthFailuresPerMinute: e.OPERATOR_AUTH_FAILURES_PER_MINUTE,
    providers: providerSettings(e),
  });
}

/** What `release` (the migrations) uses: the database, the log level, and whether the sandbox's tables belong. */
export interface ReleaseConfig {
  readonly databaseUrl: string;
  readonly logLevel: string;
  readonly logFormat: LogFormat;
  readonly sandbox: boolean;
}

const releaseSchema = schema.pick({ DATABASE_URL: true, LOG_LEVEL: true, LOG_FORMAT: true, SANDBOX: true });

/** `release` reads and checks only its own variables: no Redis, no operator credentials, no providers. */
export function loadReleaseConfig(env: NodeJS.ProcessEnv): ReleaseConfig {
  const e = parse(releaseSchema, env);
  return Object.freeze({ databaseUrl: requireDatabaseUrl(e.DATABASE_URL), logLevel: e.LOG_LEVEL, logFormat: e.LOG_FORMAT, sandbox: e.SANDBOX ?? false });
}

/**
 * What `bin/sandbox.ts` (the bundled sandbox providers and carrier as a process of their own) uses. PUBLIC_URL is
 * the web process's address, where the providers send their notifications; SANDBOX_BASE_URL is where this process
 * is reached (the base of the links it hands out), `http://127.0.0.1:PORT/sandbox` by default.
 */
export interface SandboxProcessConfig {
  readonly databaseUrl: string;
  readonly port: number;
  readonly publicUrl: string;
  readonly sandboxBaseUrl: string;
  readonly dbPoolMax: number;
  readonly logLevel: string;
  readonly logFormat: LogFormat;
}

const sandboxSchema = schema.pick({ DATABASE_URL: true, PORT: true, PUBLIC_URL: true, SANDBOX_BASE_URL: true, DB_POOL_MAX: true, LOG_LEVEL: true, LOG_FORMAT: true });

export function loadSandboxProcessConfig(env: NodeJS.ProcessEnv): SandboxProcessConfig {
  const e = parse(sandboxSchema, env);
  if (!e.PUBLIC_URL) throw new ConfigError('PUBLIC_URL', "is required: the web process's address, where the sandbox sends provider notifications");
  return Object.freeze({
    databaseUrl: requireDatabaseUrl(e.DATABASE_URL),
    port: e.PORT,
    publicUrl: e.PUBLIC_URL.replace(/\/+$/, ''),
    sandboxBaseUrl: (e.SANDBOX_BASE_URL ?? `http://127.0.0.1:${e.PORT}/sandbox`).replace(/\/+$/, ''),
    dbPoolMax: e.DB_POOL_MAX,
    logLevel: e.LOG_LEVEL,
    logFormat: e.LOG_FORMAT,
  });
}

function parse<S extends z.ZodType>(s: S, env: NodeJS.ProcessEnv): z.output<S> {
  const parsed = s.safeParse(stripEmpty(env));
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError(String(issue.path[0] ?? 'environment'), issue.message);
  }
  return parsed.data;
}

function requireDatabaseUrl(url: string | undefined): string {
  if (!url) throw new ConfigError('DATABASE_URL', 'is required (or run `npm start`, which provides Postgres itself)');
  return url;
}

/** Push tracking needs both of its settings and a Kuaidi100 account; half of it would be off without saying so. */
function checkKuaidi100Push(e: z.output<typeof schema>): void {
  const { KUAIDI100_PUSH_BASE_URL: base, KUAIDI100_PUSH_SALT: salt } = e;
  if (!base && !salt) return;
  if (!base) throw new ConfigError('KUAIDI100_PUSH_BASE_URL', 'is required with KUAIDI100_PUSH_SALT (where Kuaidi100 reaches this deployment)');
  if (!salt) throw new ConfigError('KUAIDI100_PUSH_SALT', 'is required with KUAIDI100_PUSH_BASE_URL (what Kuaidi100 signs its pushes with)');
  if (!e.KUAIDI100_CUSTOMER) throw new ConfigError('KUAIDI100_CUSTOMER', 'is required for push tracking (KUAIDI100_PUSH_BASE_URL)');
  if (!e.KUAIDI100_KEY) throw new ConfigError('KUAIDI100_KEY', 'is required for push tracking (KUAIDI100_PUSH_BASE_URL)');
}

/** A carrier is followed one way: its own credentials, or through Kuaidi100 (which must then be configured). */
function checkViaKuaidi100(e: z.output<typeof schema>): void {
  const own = { SF: Boolean(e.SF_PARTNER_ID || e.SF_CHECK_WORD), ZTO: Boolean(e.ZTO_APP_KEY || e.ZTO_APP_SECRET) };
  for (const [carrier, via] of [['SF', e.SF_VIA_KUAIDI100], ['ZTO', e.ZTO_VIA_KUAIDI100]] as const) {
    if (!via) continue;
    const name = `${carrier}_VIA_KUAIDI100`;
    if (own[carrier]) throw new ConfigError(name, `follows ${carrier} through Kuaidi100: leave ${carrier}'s own credentials unset`);
    if (!e.KUAIDI100_CUSTOMER || !e.KUAIDI100_KEY) throw new ConfigError(name, 'needs KUAIDI100_CUSTOMER and KUAIDI100_KEY');
  }
}

function parseQueues(raw: string | undefined): QueueName[] {
  if (!raw) return [...QUEUE_NAMES];
  const names = raw.split(',').map((s) => s.trim()).filter(Boolean);
  for (const n of names) {
    if (!(QUEUE_NAMES as readonly string[]).includes(n)) {
      throw new ConfigError('WORKER_QUEUES', `unknown queue "${n}" (known: ${QUEUE_NAMES.join(', ')})`);
    }
  }
  return names as QueueName[];
}

function parseShards(raw: string | undefined, count: number): number[] {
  const all = Array.from({ length: count }, (_, i) => i);
  if (!raw) return all;
  const shards = new Set<number>();
  for (const s of raw.split(',').map((v) => v.trim()).filter(Boolean)) {
    if (!/^\d+$/.test(s)) throw new ConfigError('WORKER_SHARDS', `"${s}" is not a shard number (a list such as 0,2)`);
    if (Number(s) >= count) throw new ConfigError('WORKER_SHARDS', `shard ${s} does not exist: QUEUE_SHARDS is ${count} (shards 0 to ${count - 1})`);
    shards.add(Number(s));
  }
  if (!shards.size) throw new ConfigError('WORKER_SHARDS', 'names no shard (a list such as 0,2, or unset for all)');
  return all.filter((i) => shards.has(i));
}

/** An empty variable means "unset", as in most deploy tools. */
function stripEmpty(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && v !== '') out[k] = v;
  return out;
}
