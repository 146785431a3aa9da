import { spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { isRunning, lastLine, logTail, signalOnExit, stopChild, type LocalChild, type LocalHooks } from './child.js';
import { freePort } from './ports.js';
import { MissingPrerequisite, StartError } from './start-error.js';

export interface LocalRedis {
  url: string;
}

/** How long a Redis with a large append-only file may take to load it. */
const READY_WITHIN_MS = 60_000;

/** Runs `redis-server` on a free port with its data in `dir`. */
export async function startRedis(dir: string, hooks: LocalHooks): Promise<LocalRedis> {
  if (spawnSync('redis-server', ['--version']).error) {
    throw new MissingPrerequisite(
      'redis-server is not installed: install it (Debian/Ubuntu: `apt-get install -y redis-server`, macOS: `brew install redis`) or set REDIS_URL',
    );
  }
  mkdirSync(dir, { recursive: true });
  const log = path.join(dir, 'redis.log');
  // Another program may take the free port before Redis binds it: try another.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    try {
      return await startOnPort(dir, port, log, hooks);
    } catch (error) {
      if (!(error instanceof PortTaken) || attempt === 3) throw error;
    }
  }
}

class PortTaken extends Error {}

async function startOnPort(dir: string, port: number, log: string, hooks: LocalHooks): Promise<LocalRedis> {
  const fd = openSync(log, 'w');
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--save', '', '--maxmemory-policy', 'noeviction'],
    // Its own process group: the terminal's Ctrl-C is for us, and we stop Redis after our own shutdown.
    { stdio: ['ignore', fd, fd], detached: true },
  );
  closeSync(fd);
  let spawnError: Error | undefined;
  child.once('error', (error) => (spawnError = error));
  signalOnExit(child, 'SIGTERM');
  hooks.teardown.add(() => stopChild(child, 'SIGTERM', 30_000));
  // Redis moves into its --dir: that is how a leftover one of this data folder is recognised.
  const running: LocalChild = { pid: child.pid ?? 0, cwd: realpathSync(dir), signal: 'SIGTERM' };
  if (child.pid) hooks.spawned(running);

  const url = `redis://127.0.0.1:${port}`;
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => undefined); // refused while it boots: tried again below
  try {
    for (const t0 = Date.now(); ; ) {
      if (spawnError) throw new StartError(`could not run redis-server: ${spawnError.message}`);
      if (!isRunning(child)) {
        const lines = logTail(log);
        if (lines.some((l) => /address already in use/i.test(l))) throw new PortTaken();
        const reason = lastLine(lines, / # /)?.replace(/^.* # /, '') ?? `exit code ${child.exitCode}`;
        throw new StartError(`redis-server stopped while starting: ${reason} (log: ${log})`);
      }
      try {
        await probe.connect();
        await probe.ping();
        break;
      } catch {
        if (Date.now() - t0 > READY_WITHIN_MS) throw new StartError(`redis-server did not answer on port ${port} within ${READY_WITHIN_MS / 1000} s (log: ${log})`);
        probe.disconnect();
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } catch (error) {
    await stopChild(child, 'SIGTERM', 30_000);
    throw error;
  } finally {
    probe.disconnect();
  }
  return { url };
}
