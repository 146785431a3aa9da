import { createServer } from 'node:http';
import { createWorkerProcess } from '../workers/index.js';
import { createInfrastructure } from '../src/runtime.js';
import { loadConfigOrExit, onShutdown, startWhenReady } from './lifecycle.js';

/** Procfile `worker`: the workers of every queue in WORKER_QUEUES. */
const infra = createInfrastructure(loadConfigOrExit(process.env), 'worker');
const workers = await startWhenReady(infra.logger, 'worker', async () => {
  const w = await createWorkerProcess(infra);
  await w.start();
  return w;
});

// Job durations and outcomes are measured where jobs run: each worker process serves its own /metrics.
const metricsServer = infra.config.metricsPort
  ? createServer((req, res) => {
      if (req.url !== '/metrics') return void res.writeHead(404).end();
      void infra.metrics.registry.metrics().then((text) => res.writeHead(200, { 'content-type': infra.metrics.registry.contentType }).end(text));
    }).listen(infra.config.metricsPort)
  : undefined;

onShutdown(infra.logger, async () => {
  metricsServer?.close();
  await workers.close();
  await infra.close();
});
