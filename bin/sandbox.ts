import { loadSandboxProcessConfig } from '../src/config.js';
import { createDatabase } from '../src/db/database.js';
import { createLogger } from '../src/logger.js';
import { createSandboxProcess } from '../src/sandbox/sandbox-process.js';
import { configOrExit, onShutdown, startWhenReady } from './lifecycle.js';

/**
 * `npm run start:sandbox`: the bundled sandbox providers and carrier in a process of their own (not a Procfile
 * entry: a deployment talks to real providers). Point web and worker at it with SANDBOX_BASE_URL.
 */
const config = configOrExit(() => loadSandboxProcessConfig(process.env));
const logger = createLogger(config.logLevel, { role: 'sandbox' }, config.logFormat);
const db = createDatabase(config.databaseUrl, { poolMax: config.dbPoolMax });
const sandbox = await startWhenReady(logger, 'sandbox', () => createSandboxProcess({ config, db, logger }));
const port = await sandbox.listen();
logger.info({ port, notifies: config.publicUrl }, 'sandbox listening');
onShutdown(logger, async () => {
  await sandbox.close();
  await db.close();
});
