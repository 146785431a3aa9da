import { createWebProcess } from '../src/web-process.js';
import { createInfrastructure } from '../src/runtime.js';
import { loadConfigOrExit, onShutdown, startWhenReady } from './lifecycle.js';

/** Procfile `web`: intake, shop API, admin API, dashboard. */
const infra = createInfrastructure(loadConfigOrExit(process.env), 'web');
const web = await startWhenReady(infra.logger, 'web', () => createWebProcess(infra));
const port = await web.listen();
infra.logger.info({ port }, 'web listening');
onShutdown(infra.logger, async () => {
  await web.close();
  await infra.close();
});
