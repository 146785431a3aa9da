import { createServer } from 'node:http';
import { createWorkerProcess } from '../workers/index.js';
import { createInfrastructure } from '../src/runtime.js';
import { operatorAuthenticator } from '../src/http/auth.js';
import { loadConfigOrExit, onShutdown, startWhenReady } from './lifecycle.js';

/** Procfile `worker`: the workers of every queue in WORKER_QUEUES. */
const infra = createInfrastructure(loadConfigOrExit(process.env, { role: 'worker' }), 'worker');
const workers = await startWhenReady(infra.logger, 'worker', async () => {
  const w = await createWorkerProcess(infra);
  await w.start();
  return w;
});

// Job durations and outcomes are measured where jobs run: each worker process serves its own /metrics, behind
// the same operator credentials or METRICS_TOKEN as the web process's.
const { admin, viewer, metricsToken, metricsPort } = infra.config;
const authenticate = operatorAuthenticator({ admin, viewer, metricsToken });
const metricsServer = metricsPort
  ? createServer((req, res) => {
      if (req.url !== '/metrics') return void res.writeHead(404).end();
      if (!authenticate(req.headers.authorization)) {
        return void res.writeHead(401, { 'www-authenticate': 'Basic realm="orderworks admin"', 'content-type': 'text/plain' }).end('operator credentials or METRICS_TOKEN required\n');
      }
      void infra.metrics.registry.metrics().then((text) => res.writeHead(200, { 'content-type': infra.metrics.registry.contentType }).end(text));
    }).listen(metricsPort)
  : undefined;

onShutdown(infra.logger, async () => {
  metricsServer?.close();
  await workers.close();
  await infra.close();
});
