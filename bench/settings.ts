/**
 * Everything the benchmark can be told, read once from the environment. BENCH_SCALE picks the sizes
 * (`full` is the run recorded in BENCHMARKS.md, `tiny` finishes in seconds and is what the test runs);
 * each size can also be set on its own.
 */

export interface BenchSettings {
  scale: 'tiny' | 'full';
  databaseAdminUrl: string;
  redisUrl: string;
  /** Where the report is written: BENCHMARKS.md by default, a temp file in the test. */
  output: string;
  /** HTTP connections of the load generator, and jobs in flight of the raw Queue.add baseline. */
  connections: number;
  intakeOrders: number;
  pipelineOrders: number;
  /** Raw BullMQ worker baseline: jobs in flight per worker (the issue fixes it at 32). */
  rawConcurrency: number;
  flashOrders: number;
  flashStock: number;
  updateCount: number;
  updateConnections: number;
  backlogSmall: number;
  backlogLarge: number;
  /** SKUs the non-flash orders are spread over, so they do not all fight for one row. */
  skus: number;
  paymentMethod: 'alipay' | 'wechat_pay' | 'paypal' | 'card';
  /**
   * How each order pays: `token` (the default: the shop sends a token, charged at once, no buyer step) or a
   * buyer-driven flow (`qr` for alipay and wechat_pay: the order gets a payment action, and the bench's buyers
   * open it and pay on the sandbox's checkout page, so every figure to `paid` includes the buyer's step).
   */
  paymentFlow: 'token' | 'qr';
  /** How the web and worker children run: from source through tsx, or the compiled dist (`npm run build`). */
  runtime: 'tsx' | 'dist';
  /** Web processes (behind one port, bench/web-cluster.ts) and worker processes of the system under test. */
  webProcesses: number;
  workerProcesses: number;
  /** Directory for --cpu-prof profiles of the children, when set. */
  cpuProfDir: string | undefined;
  /** Longest wait for any one drain, in ms. */
  waitTimeoutMs: number;
  /** The orderworks configuration under test (passed to the web and worker children). */
  system: Record<string, string>;
}

const SIZES = {
  tiny: { intakeOrders: 100, pipelineOrders: 60, flashOrders: 60, flashStock: 10, updateCount: 100, backlogSmall: 20, backlogLarge: 60, skus: 10 },
  // The sizes. (Until group commit the full run queued 20,000: draining 50,000 took ~9 minutes alone.)
  full: { intakeOrders: 5_000, pipelineOrders: 5_000, flashOrders: 10_000, flashStock: 1_000, updateCount: 10_000, backlogSmall: 1_000, backlogLarge: 50_000, skus: 100 },
};

function int(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, got "${raw}"`);
  return n;
}

function oneOf<T extends string>(env: NodeJS.ProcessEnv, name: string, allowed: readonly T[], fallback: T): T {
  const raw = env[name] || fallback;
  if (!(allowed as readonly string[]).includes(raw)) throw new Error(`${name} must be one of ${allowed.join(', ')}, got "${raw}"`);
  return raw as T;
}

export function loadSettings(env: NodeJS.ProcessEnv = process.env, overrides: Partial<BenchSettings> = {}): BenchSettings {
  const scale = overrides.scale ?? oneOf(env, 'BENCH_SCALE', ['tiny', 'full'] as const, 'full');
  const size = SIZES[scale];
  // Postgres here allows 100 connections, shared with whatever else runs: web + worker + baselines stay under 70.
  const poolMax = int(env, 'BENCH_DB_POOL_MAX', 24);
  // Jobs in flight per queue: the shipped defaults (placement 64, capture 32, ...) unless told. The run of 0a2aa84
  // used 8 for every queue, because 32 starved the worker's pool then; placement and settlement now share
  // transactions (group commit), so the defaults hold two or three connections per busy queue.
  const concurrency: Record<string, string> = {};
  if (env.BENCH_WORKER_CONCURRENCY) concurrency.WORKER_CONCURRENCY = String(int(env, 'BENCH_WORKER_CONCURRENCY', 32));
  if (env.BENCH_PLACEMENT_CONCURRENCY) concurrency.WORKER_CONCURRENCY_ORDER_PLACEMENT = String(int(env, 'BENCH_PLACEMENT_CONCURRENCY', 64));
  const settings: BenchSettings = {
    scale,
    databaseAdminUrl: env.BENCH_DATABASE_ADMIN_URL || 'postgres://postgres@127.0.0.1:5432/postgres',
    redisUrl: env.BENCH_REDIS_URL || 'redis://127.0.0.1:6379',
    output: env.BENCH_OUTPUT || 'BENCHMARKS.md',
    connections: int(env, 'BENCH_CONNECTIONS', 64),
    intakeOrders: int(env, 'BENCH_INTAKE_ORDERS', size.intakeOrders),
    pipelineOrders: int(env, 'BENCH_PIPELINE_ORDERS', size.pipelineOrders),
    rawConcurrency: int(env, 'BENCH_RAW_CONCURRENCY', 32),
    flashOrders: int(env, 'BENCH_FLASH_ORDERS', size.flashOrders),
    flashStock: int(env, 'BENCH_FLASH_STOCK', size.flashStock),
    updateCount: int(env, 'BENCH_UPDATE_COUNT', size.updateCount),
    updateConnections: int(env, 'BENCH_UPDATE_CONNECTIONS', 16),
    backlogSmall: int(env, 'BENCH_BACKLOG_SMALL', size.backlogSmall),
    backlogLarge: int(env, 'BENCH_BACKLOG_LARGE', size.backlogLarge),
    skus: int(env, 'BENCH_SKUS', size.skus),
    paymentMethod: oneOf(env, 'BENCH_PAYMENT_METHOD', ['alipay', 'wechat_pay', 'paypal', 'card'] as const, 'card'),
    paymentFlow: oneOf(env, 'BENCH_PAYMENT_FLOW', ['token', 'qr'] as const, 'token'),
    // Full size measures what production runs (the compiled dist, as the Procfile starts it); tiny runs from source.
    runtime: oneOf(env, 'BENCH_RUNTIME', ['tsx', 'dist'] as const, scale === 'full' ? 'dist' : 'tsx'),
    webProcesses: int(env, 'BENCH_WEB_PROCESSES', 1),
    workerProcesses: int(env, 'BENCH_WORKER_PROCESSES', 1),
    cpuProfDir: env.BENCH_CPU_PROF_DIR || undefined,
    // A backstop against a drain that never ends, not a measure: generous at tiny size, which runs in `npm test`
    // on machines shared with other work.
    waitTimeoutMs: int(env, 'BENCH_WAIT_TIMEOUT_S', scale === 'tiny' ? 600 : 900) * 1000,
    system: {
      NODE_ENV: 'production',
      SANDBOX: '1',
      LOG_LEVEL: 'warn',
      DB_POOL_MAX: String(poolMax),
      ...concurrency,
      // Fast retries and a short sweep, as the issue asks: a lost job costs seconds, not minutes.
      RETRY_BASE_DELAY_MS: '50',
      PAYMENT_RETRY_BASE_MS: '200',
      PAYMENT_TIMEOUT_MS: '10000',
      SWEEP_EVERY_MS: '1000',
      SWEEP_STALE_AFTER_MS: '10000',
      // One shop floods the intake here; its per-shop limit (2,000/s by default) would answer 429 instead.
      SHOP_RATE_LIMIT_PER_SECOND: '0',
      ADMIN_USER: 'bench',
      ADMIN_PASSWORD: 'bench-admin-password',
    },
    ...overrides,
  };
  if (settings.flashStock > settings.flashOrders) throw new Error('BENCH_FLASH_STOCK must not exceed BENCH_FLASH_ORDERS');
  if (settings.paymentFlow === 'qr' && !['alipay', 'wechat_pay'].includes(settings.paymentMethod)) {
    throw new Error('BENCH_PAYMENT_FLOW=qr needs BENCH_PAYMENT_METHOD=alipay or wechat_pay');
  }
  return settings;
}
