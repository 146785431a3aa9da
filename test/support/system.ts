import { loadConfig, type Config } from '../../src/config.js';
import { createWebProcess } from '../../src/web-process.js';
import { createLogger } from '../../src/logger.js';
import { createMetrics } from '../../src/metrics.js';
import { createInfrastructure, type Infrastructure } from '../../src/runtime.js';
import { createWorkerProcess } from '../../workers/index.js';
import { createTestDatabase, REDIS_URL, testQueuePrefix } from './db.js';
import { freePort } from '../../src/local/local-services.js';

export const ADMIN = { user: 'ops', password: 'ops-secret-pw' };

export interface TestSystem {
  base: string;
  config: Config;
  env: Record<string, string>;
  web: Infrastructure;
  /** The worker process's connections; absent with `workers: false`. */
  worker?: Infrastructure | undefined;
  close(): Promise<void>;
}

/**
 * The whole system in this process, as `npm start` wires it, against a fresh database and queue prefix.
 * `workers: false` leaves the queues unconsumed (a test then runs its own worker processes).
 */
export async function startSystem(opts: { env?: Record<string, string>; workers?: boolean } = {}): Promise<TestSystem> {
  // A test may give another system's DATABASE_URL: two processes of one deployment.
  const testDb = opts.env?.DATABASE_URL ? undefined : await createTestDatabase();
  await testDb?.db.close();
  const env: Record<string, string> = {
    DATABASE_URL: testDb?.url ?? '',
    REDIS_URL,
    PORT: String(await freePort()),
    QUEUE_PREFIX: testQueuePrefix(),
    ADMIN_USER: ADMIN.user,
    ADMIN_PASSWORD: ADMIN.password,
    SANDBOX: '1',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    RETRY_BASE_DELAY_MS: '50',
    // Two test files run side by side, each with web, workers and worker processes: stay under max_connections.
    DB_POOL_MAX: '5',
    WEBHOOK_RETRY_BASE_MS: '50',
    PAYMENT_RETRY_BASE_MS: '100',
    // Long enough that a busy machine's sandbox still answers in time: a short one turns load into provider
    // timeouts (ambiguous captures, retries running out). tok_timeout and timeout faults take this long to resolve.
    PAYMENT_TIMEOUT_MS: '5000',
    SWEEP_EVERY_MS: '500',
    SWEEP_STALE_AFTER_MS: '1000',
    JOB_LOCK_MS: '2000',
    ...opts.env,
  };
  const config = loadConfig(env);
  const logger = createLogger(config.logLevel);
  const metrics = createMetrics();
  const web = createInfrastructure(config, 'web', { logger, metrics });
  const webProcess = await createWebProcess(web);
  const port = await webProcess.listen();
  const workerInfra = opts.workers === false ? undefined : createInfrastructure(config, 'worker', { logger, metrics });
  const workers = workerInfra ? await createWorkerProcess(workerInfra) : undefined;
  await workers?.start();
  return {
    base: `http://127.0.0.1:${port}`,
    config,
    env: { ...env, PORT: String(port) },
    web,
    worker: workerInfra,
    async close() {
      await webProcess.close();
      await workers?.close();
      await workerInfra?.close();
      if (testDb) await Promise.all(web.shards.list().map(({ queue: q }) => q.obliterate({ force: true }).catch(() => undefined)));
      await web.close();
      await testDb?.drop();
    },
  };
}
