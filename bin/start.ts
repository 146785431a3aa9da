import path from 'node:path';
import { createWorkerProcess } from '../workers/index.js';
import { createDatabase } from '../src/db/database.js';
import { migrate } from '../src/db/migrate.js';
import { migrationsWithSandbox } from '../src/sandbox/migrations/index.js';
import { createWebProcess } from '../src/web-process.js';
import { BOARD_PATH } from '../src/http/board.js';
import { MissingPrerequisite, provideLocalServices } from '../src/local/local-services.js';
import { createLogger } from '../src/logger.js';
import { createMetrics } from '../src/metrics.js';
import { createInfrastructure } from '../src/runtime.js';
import { loadConfigOrExit, onShutdown } from './lifecycle.js';

/**
 * `npm start`: the one command a newcomer runs. Provides Postgres and Redis when their URLs are unset
 * (local mode), migrates, then runs `web` and `worker` together in this process.
 */
const local = !process.env.DATABASE_URL || !(process.env.REDIS_URL || process.env.REDIS_CLUSTER_NODES);
let services;
try {
  services = local ? await provideLocalServices(process.env, path.resolve('.data')) : undefined;
} catch (error) {
  process.stderr.write(`orderworks: ${error instanceof MissingPrerequisite ? error.message : `could not start local services: ${(error as Error).message}`}\n`);
  process.exit(1);
}
const config = loadConfigOrExit({ ...process.env, ...services?.env }, { local });
const logger = createLogger(config.logLevel, { process: 'start' });

const migrationDb = createDatabase(config.databaseUrl, { poolMax: 2 });
await migrate(migrationDb, logger, config.sandbox ? migrationsWithSandbox : undefined);
await migrationDb.close();

const metrics = createMetrics();
const webInfra = createInfrastructure(config, 'web', { logger: logger.child({ role: 'web' }), metrics });
const workerInfra = createInfrastructure(config, 'worker', { logger: logger.child({ role: 'worker' }), metrics });
const web = await createWebProcess(webInfra);
const workers = await createWorkerProcess(workerInfra);
await workers.start();
const port = await web.listen();

const base = `http://127.0.0.1:${port}`;
process.stdout.write(
  [
    '',
    'orderworks is running',
    `  API        ${base}/v1   (health: ${base}/readyz)`,
    `  Dashboard  ${base}${BOARD_PATH}`,
    `  Admin      user "${config.admin.user}", password "${config.admin.password}"`,
    ...(services?.notes ?? []).map((n) => `  ${n}`),
    `  Sandbox    ${config.sandbox ? 'on: payment providers and carriers are the bundled sandboxes' : 'off'}`,
    '  Stop with Ctrl-C.',
    '',
  ].join('\n') + '\n',
);

onShutdown(logger, async () => {
  await web.close();
  await workers.close();
  await Promise.all([webInfra.close(), workerInfra.close()]);
  await services?.stop();
});
