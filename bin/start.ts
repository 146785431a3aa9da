import path from 'node:path';
import { ConfigError, loadConfig, type Config } from '../src/config.js';
import type { Logger } from '../src/logger.js';
import { InstanceLock } from '../src/local/instance-lock.js';
import { assertPortFree } from '../src/local/ports.js';
import { StartError } from '../src/local/start-error.js';
import { Teardown } from '../src/local/teardown.js';

/**
 * `npm start`: the one command a newcomer runs. Provides Postgres and Redis when their URLs are unset
 * (local mode), migrates, then runs `web` and `worker` together in this process.
 *
 * What can be checked without starting anything is checked first (the configuration, the single instance
 * per data folder, the port), and only this file's light imports load before it. Whatever is started
 * afterwards is stopped on every way out: a failure (one line, exit 1), Ctrl-C or SIGTERM (exit 0).
 */
const env = process.env;
const local = !env.DATABASE_URL || !(env.REDIS_URL || env.REDIS_CLUSTER_NODES);
const dataDir = path.resolve('.data');
const teardown = new Teardown();
/** How long stopping may take in all: the web grace period, the workers, then Redis and Postgres. */
const STOP_LIMIT_MS = 60_000;
let logger: Logger | undefined;

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => void stop(signal));

try {
  // Local mode provides these two later; everything else is judged now, before any service runs.
  const preview = loadConfig({ ...env, ...localPlaceholders() }, { local });
  const lock = local ? await InstanceLock.acquire(dataDir) : undefined;
  if (lock) teardown.add(async () => lock.release());
  await assertPortFree(preview.port);
  const { provideLocalServices } = await import('../src/local/local-services.js');
  const services = local ? await provideLocalServices(env, dataDir, { teardown, spawned: (c) => lock?.record(c) }) : undefined;
  const config = loadConfig({ ...env, ...services?.env }, { local });
  const { runWebAndWorker } = await import('./all-in-one.js');
  const running = await runWebAndWorker(config, teardown);
  logger = running.logger;
  if (!teardown.begun) printBanner(running.port, running.dashboardPath, config, services?.notes ?? []);
} catch (error) {
  // A Ctrl-C during the start stops what runs, which fails the step under way: that is not news.
  if (!teardown.begun) {
    process.stderr.write(`orderworks: ${describe(error)}\n`);
    await teardown.run();
    process.exit(1);
  }
}

function localPlaceholders(): Record<string, string> {
  return {
    ...(env.DATABASE_URL ? {} : { DATABASE_URL: 'postgres://local-mode@127.0.0.1/orderworks' }),
    ...(env.REDIS_URL || env.REDIS_CLUSTER_NODES ? {} : { REDIS_URL: 'redis://127.0.0.1' }),
  };
}

function describe(error: unknown): string {
  if (error instanceof ConfigError || error instanceof StartError) return error.message;
  // The incremental build emits only what changed: an output deleted by hand is not made again.
  if ((error as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND') {
    return `a compiled file is missing (${(error as Error).message.split('\n')[0]}): remove dist/ and run npm start again`;
  }
  const message = error instanceof Error ? error.message : String(error);
  return `could not start: ${message.split('\n')[0]}`;
}

async function stop(signal: NodeJS.Signals): Promise<void> {
  // npm passes the terminal's Ctrl-C on as well, so the same signal arrives twice: stop once.
  if (teardown.begun) return;
  logger?.info({ signal }, 'shutting down');
  setTimeout(() => {
    process.stderr.write('orderworks: stopping took too long; exiting\n');
    process.exit(1);
  }, STOP_LIMIT_MS).unref();
  await teardown.run();
  logger?.info('stopped cleanly');
  process.exit(0);
}

function printBanner(port: number, dashboardPath: string, config: Pick<Config, 'admin' | 'sandbox'>, notes: string[]): void {
  const base = `http://127.0.0.1:${port}`;
  process.stdout.write(
    [
      '',
      'orderworks is running',
      `  API        ${base}/v1   (health: ${base}/readyz)`,
      `  Dashboard  ${base}${dashboardPath}`,
      `  Admin      user "${config.admin.user}", password "${config.admin.password}"`,
      ...notes.map((n) => `  ${n}`),
      `  Sandbox    ${config.sandbox ? 'on: payment providers and carriers are the bundled sandboxes' : 'off'}`,
      '  Stop with Ctrl-C.',
      '',
    ].join('\n') + '\n',
  );
}
