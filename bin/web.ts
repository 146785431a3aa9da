import { createWebProcess } from '../src/web-process.js';
import { createInfrastructure } from '../src/runtime.js';
import { portError } from '../src/local/ports.js';
import { loadConfigOrExit, onShutdown, startWhenReady } from './lifecycle.js';

/** Procfile `web`: intake, shop API, admin API, dashboard. */
const infra = createInfrastructure(loadConfigOrExit(process.env), 'web');
const web = await startWhenReady(infra.logger, 'web', () => createWebProcess(infra));
const port = await web.listen().catch(async (error: NodeJS.ErrnoException) => {
  // A port that is taken is one clear line and a clean exit, not a stack trace.
  process.stderr.write(`orderworks web: ${portError(infra.config.port, error).message}\n`);
  await web.close().catch(() => undefined);
  await infra.close().catch(() => undefined);
  process.exit(1);
});
infra.logger.info({ port }, 'web listening');
onShutdown(infra.logger, async () => {
  await web.close();
  await infra.close();
});
