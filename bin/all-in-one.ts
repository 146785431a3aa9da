import { Redis } from 'ioredis';
import { createWorkerProcess } from '../workers/index.js';
import type { Config } from '../src/config.js';
import { createDatabase } from '../src/db/database.js';
import { migrate } from '../src/db/migrate.js';
import { migrationsWithSandbox } from '../src/sandbox/migrations/index.js';
import { BOARD_PATH } from '../src/http/board.js';
import { createWebProcess } from '../src/web-process.js';
import { createLogger, type Logger } from '../src/logger.js';
import { createMetrics } from '../src/metrics.js';
import { createInfrastructure } from '../src/runtime.js';
import { portError } from '../src/local/ports.js';
import { step, where } from '../src/local/start-error.js';
import type { Teardown } from '../src/local/teardown.js';

/**
 * `web` and `worker` in one process, as `npm start` runs them: migrations first, then both, sharing one
 * logger and one metrics registry. Each part's stop is added to `teardown` as it is built, so they stop in
 * reverse: the web server first, then the workers, then the connections.
 */
export async function runWebAndWorker(config: Config, teardown: Teardown): Promise<{ port: number; logger: Logger; dashboardPath: string }> {
  const logger = createLogger(config.logLevel, { process: 'start' }, config.logFormat);
  await step(`migrating the database at ${where(config.databaseUrl)}`, async () => {
    const db = createDatabase(config.databaseUrl, { poolMax: 2 });
    try {
      await migrate(db, logger, config.sandbox ? migrationsWithSandbox : undefined);
    } finally {
      await db.close();
    }
  });
  // Redis clients wait for a server that is not there; a start should say so instead of hanging.
  if (config.redisUrl) await step(`connecting to Redis at ${where(config.redisUrl)}`, () => ping(config.redisUrl));

  const metrics = createMetrics();
  const webInfra = createInfrastructure(config, 'web', { logger: logger.child({ role: 'web' }), metrics });
  teardown.add(() => webInfra.close());
  const workerInfra = createInfrastructure(config, 'worker', { logger: logger.child({ role: 'worker' }), metrics });
  teardown.add(() => workerInfra.close());
  const workers = await createWorkerProcess(workerInfra);
  teardown.add(() => workers.close());
  const web = await createWebProcess(webInfra);
  teardown.add(() => web.close());
  await step('starting the workers', () => workers.start());
  const port = await web.listen().catch((error: NodeJS.ErrnoException) => {
    throw portError(config.port, error);
  });
  return { port, logger, dashboardPath: BOARD_PATH };
}

async function ping(url: string): Promise<void> {
  const probe = new Redis(url, { lazyConnect: true, connectTimeout: 10_000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => undefined); // the failed connect() below says it
  try {
    await probe.connect();
    await probe.ping();
  } finally {
    probe.disconnect();
  }
}
