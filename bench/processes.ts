import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { BenchSettings } from './settings.js';

export const ROOT = path.resolve(import.meta.dirname, '..');

export interface Child {
  name: string;
  proc: ChildProcess;
  /** The last lines it wrote (warnings at LOG_LEVEL=warn), for the error message when it dies. */
  tail: string[];
  /** How many lines it wrote to stdout/stderr: at LOG_LEVEL=warn, roughly its warnings. */
  lines: number;
  exited: Promise<number | null>;
}

type Bin = 'web' | 'worker' | 'sandbox';

/** The entry point of a process of bin/ (Procfile's, and the sandbox's), from source (tsx) or from dist (after `npm run build`). */
function entry(settings: BenchSettings, bin: Bin): string[] {
  if (settings.runtime === 'dist') return [path.join(ROOT, 'dist/bin', `${bin}.js`)];
  return ['--import', 'tsx', path.join(ROOT, 'bin', `${bin}.ts`)];
}

export function spawnNode(name: string, args: string[], env: Record<string, string>, settings: BenchSettings): Child {
  // Node names each profile after pid and thread (tsx's loader runs in a thread of its own): a directory per role.
  const prof = settings.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${path.join(settings.cpuProfDir, name)}`] : [];
  const proc = spawn(process.execPath, [...prof, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const child: Child = {
    name,
    proc,
    tail: [],
    lines: 0,
    exited: new Promise((resolve) => proc.once('exit', (code) => resolve(code))),
  };
  const keep = (d: Buffer) => {
    for (const line of String(d).split('\n').filter(Boolean)) {
      child.lines++;
      child.tail.push(line.slice(0, 500));
      if (child.tail.length > 20) child.tail.shift();
    }
  };
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  return child;
}

export const spawnProcess = (settings: BenchSettings, bin: Bin, env: Record<string, string>) =>
  spawnNode(bin, entry(settings, bin), env, settings);

/** `web` as one process, or as `count` processes sharing its port behind bench/web-cluster.ts. */
export function spawnWeb(settings: BenchSettings, env: Record<string, string>, count: number): Child {
  if (count === 1) return spawnProcess(settings, 'web', env);
  const web = entry(settings, 'web');
  const launcher = settings.runtime === 'dist' ? [path.join(ROOT, 'dist/bench/web-cluster.js')] : ['--import', 'tsx', path.join(ROOT, 'bench/web-cluster.ts')];
  // The copies run the web entry with the launcher's node flags (tsx's loader, --cpu-prof).
  return spawnNode('web', launcher, { ...env, BENCH_WEB_ENTRY: web.at(-1)!, BENCH_WEB_PROCESSES: String(count) }, settings);
}

/** The pids of a process's children (the copies of a cluster primary), from /proc. */
export function childPids(pid: number | undefined): number[] {
  if (!pid) return [];
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Peak resident set size of a live process, in bytes (VmHWM: the high-water mark the kernel keeps). */
export function peakRss(pid: number | undefined): number {
  if (!pid) return 0;
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /^VmHWM:\s+(\d+)\s+kB/m.exec(status);
  return kb ? Number(kb[1]) * 1024 : 0;
}

/** SIGTERM, then SIGKILL if the clean stop takes longer than `graceMs`. */
export async function stop(child: Child, graceMs = 20_000): Promise<void> {
  if (child.proc.exitCode !== null || child.proc.signalCode !== null) return;
  child.proc.kill('SIGTERM');
  const timer = setTimeout(() => child.proc.kill('SIGKILL'), graceMs);
  await child.exited;
  clearTimeout(timer);
}

/** Fails fast, with the child's last words, if it dies while we wait on it. */
export function whileAlive<T>(children: Child[], work: Promise<T>): Promise<T> {
  const deaths = children.map((c) =>
    c.exited.then((code) => {
      throw new Error(`${c.name} exited (${code}) during the benchmark:\n${c.tail.join('\n')}`);
    }),
  );
  return Promise.race([work, ...deaths]);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until the child prints `line` (a bench helper's "ready"). */
export async function waitForLine(child: Child, line: string, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (!child.tail.includes(line)) {
    if (child.proc.exitCode !== null) throw new Error(`${child.name} exited:\n${child.tail.join('\n')}`);
    if (Date.now() > until) throw new Error(`${child.name} not ready after ${ms} ms:\n${child.tail.join('\n')}`);
    await sleep(50);
  }
}
