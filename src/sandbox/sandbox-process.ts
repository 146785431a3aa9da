import { createServer, type Server } from 'node:http';
import express, { type ErrorRequestHandler } from 'express';
import type { SandboxProcessConfig } from '../config.js';
import type { Database } from '../db/database.js';
import type { Logger } from '../logger.js';
import { listenOn } from '../http/listen.js';
import { sandboxRouter } from './sandbox.router.js';

/**
 * The bundled sandbox providers and carrier as a process of their own (`bin/sandbox.ts`), the same router the
 * web process mounts under /sandbox when SANDBOX=1. Run apart, the provider's CPU is not the web's: the bench
 * runs it this way so that orderworks' own share of the work per order stands alone. Web and worker reach it
 * through SANDBOX_BASE_URL; it notifies the web process at PUBLIC_URL.
 */
export async function createSandboxProcess(deps: { config: SandboxProcessConfig; db: Database; logger: Logger }): Promise<{
  server: Server;
  listen(): Promise<number>;
  close(): Promise<void>;
}> {
  const { config, db, logger } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.get('/readyz', async (_req, res) => {
    await db.ping();
    res.json({ status: 'ready' });
  });
  app.use('/sandbox', await sandboxRouter({ db, logger, publicUrl: config.publicUrl, baseUrl: config.sandboxBaseUrl }));
  app.use((_req, res) => void res.status(404).json({ error: 'not found' }));
  const onError: ErrorRequestHandler = (err: Error, _req, res, _next) => {
    logger.error({ err }, 'sandbox request failed');
    if (!res.headersSent) res.status(500).json({ error: 'sandbox error' });
  };
  app.use(onError);
  const server = createServer(app);
  server.keepAliveTimeout = 65_000;
  return {
    server,
    listen: () => listenOn(server, config.port),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 2_000).unref();
      }),
  };
}
