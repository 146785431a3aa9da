import { createDatabase } from '../src/db/database.js';
import { migrate } from '../src/db/migrate.js';
import { migrationsWithSandbox } from '../src/sandbox/migrations/index.js';
import { createLogger } from '../src/logger.js';
import { loadReleaseConfig } from '../src/config.js';
import { configOrExit } from './lifecycle.js';

/** Procfile `release`: applies pending migrations; a no-op when there are none. */
const config = configOrExit(() => loadReleaseConfig(process.env));
const logger = createLogger(config.logLevel, { process: 'release' }, config.logFormat);
const db = createDatabase(config.databaseUrl, { poolMax: 2 });
try {
  const applied = await migrate(db, logger, config.sandbox ? migrationsWithSandbox : undefined);
  logger.info({ applied: applied.length }, 'database is up to date');
} finally {
  await db.close();
}
