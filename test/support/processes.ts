import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { Queue } from 'bullmq';

const ROOT = path.resolve(import.meta.dirname, '../..');

/** Runs a real worker process (`Procfile` worker, from source) with the given environment. */
export const spawnWorker = (env: Record<string, string>) => spawnEntry('bin/worker.ts', env);
/** Runs a real web process (`Procfile` web, from source) with the given environment. */
export const spawnWeb = (env: Record<string, string>) => spawnEntry('bin/web.ts', env);

function spawnEntry(entry: string, env: Record<string, string>): ChildProcess & { output: string[] } {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, entry)], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  }) as ChildProcess & { output: string[] };
  child.output = [];
  const keep = (d: Buffer) => {
    child.output.push(String(d));
    if (child.output.length > 200) child.output.shift();
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return child;
}

/**
 * Waits until `count` workers serve `queue` (BullMQ names their Redis connections after it), failing if one of
 * `children` exits first. No clock: a worker that a busy machine starts slowly is still a worker, and the waits
 * that follow then measure the work, not the start.
 */
export async function serving(queue: Queue, count: number, children: Array<ChildProcess & { output: string[] }> = []): Promise<void> {
  while ((await queue.getWorkersCount()) < count) {
    const dead = children.find((c) => c.exitCode !== null || c.signalCode !== null);
    if (dead) throw new Error(`a worker exited before serving ${queue.name}: ${dead.output.join('').slice(-2_000)}`);
    await sleep(100);
  }
}

/** Waits until the web process at `base` answers `/readyz` 200, failing if `child` exits first. No clock, as above. */
export async function ready(base: string, child: ChildProcess & { output: string[] }): Promise<void> {
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`web exited before it was ready: ${child.output.join('').slice(-2_000)}`);
    if (await fetch(`${base}/readyz`).then((r) => r.status === 200, () => false)) return;
    await sleep(100);
  }
}

export function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
