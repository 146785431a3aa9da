import { ConfigError, loadConfig, type Config } from '../src/config.js';
import { TransientError } from '../src/domain/errors.js';
import type { Logger } from '../src/logger.js';

/** Parses the environment or stops the process with one line naming the bad variable. */
export function loadConfigOrExit(env: NodeJS.ProcessEnv, options: Parameters<typeof loadConfig>[1] = {}): Config {
  return configOrExit(() => loadConfig(env, options));
}

/** Runs a config loader; a ConfigError stops the process with its one line. */
export function configOrExit<T>(load: () => T): T {
  try {
    return load();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`orderworks: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
}

/** On SIGTERM or SIGINT: run `stop` once, exit 0 when it is done, or 1 if it takes longer than `limitMs`. */
export function onShutdown(logger: Logger, stop: () => Promise<void>, limitMs = 14_000): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      logger.error('shutdown took too long; exiting');
      process.exit(1);
    }, limitMs);
    timer.unref();
    stop().then(
      () => {
        logger.info('stopped cleanly');
        process.exit(0);
      },
      (err) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
}

/** One line that says why a process could not start and what to do, instead of a stack trace. */
export function startFailure(error: unknown): string {
  const code = (error as { parent?: { code?: string }; original?: { code?: string } })?.parent?.code;
  if (code === '42P01') return 'the database has no orderworks schema yet (or an older one): run the release step first (npm run migrate; Procfile `release`)';
  if (code === '3D000') return 'the database named in DATABASE_URL does not exist: create it, then run the release step (npm run migrate)';
  return error instanceof Error ? error.message : String(error);
}

/**
 * Runs `start` until it succeeds while what it needs is down (a TransientError: Postgres restarting, say), so a
 * process started during an outage waits for the dependency instead of crashing. Anything else ends the
 * process with one line saying why (the stack goes to the debug log).
 */
export async function startWhenReady<T>(logger: Logger, what: string, start: () => Promise<T>, giveUpAfterMs = 10 * 60_000): Promise<T> {
  const t0 = Date.now();
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (error) {
      if (!(error instanceof TransientError) || Date.now() - t0 > giveUpAfterMs) {
        logger.debug({ err: error }, `${what}: start failed`);
        process.stderr.write(`orderworks ${what}: cannot start: ${startFailure(error)}\n`);
        process.exit(1);
      }
      if (attempt === 1 || attempt % 10 === 0) logger.warn({ err: error.message, attempt }, `${what}: a dependency is down; waiting for it`);
      await new Promise((r) => setTimeout(r, Math.min(1_000 * attempt, 5_000)));
    }
  }
}
