import { createWorkerProcess } from '../../workers/index.js';
import { createInfrastructure } from '../runtime.js';
import { loadConfigOrExit, onShutdown } from './lifecycle.js';

/** Procfile `worker`: the workers of every queue in WORKER_QUEUES. */
const infra = createInfrastructure(loadConfigOrExit(process.env), 'worker');
const workers = await createWorkerProcess(infra);
await workers.start();
onShutdown(infra.logger, async () => {
  await workers.close();
  await infra.close();
});
