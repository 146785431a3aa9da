import type { ChildProcess } from 'node:child_process';
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import type { Teardown } from './teardown.js';

/** A service process local mode started: enough to recognise it later if it outlives us. */
export interface LocalChild {
  pid: number;
  /** Its working directory (real path), which a reused pid would not share. */
  cwd: string;
  /** The signal that stops it cleanly. */
  signal: NodeJS.Signals;
}

export interface LocalHooks {
  teardown: Teardown;
  /** Told of each service process as soon as it runs, before it is ready. */
  spawned(child: LocalChild): void;
}

/** Resolves once the child has exited (at once if it already has). */
export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

export function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/** Asks the child to stop with `signal`; past `graceMs`, stops it with `hardSignal`. */
export async function stopChild(child: ChildProcess, signal: NodeJS.Signals, graceMs: number, hardSignal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (!isRunning(child)) return;
  const done = exited(child);
  child.kill(signal);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), graceMs)));
  if ((await Promise.race([done, late])) === 'late') {
    child.kill(hardSignal);
    await done;
  }
  clearTimeout(timer);
}

/**
 * The last resort for an exit that skips the teardown (an uncaught error, a `process.exit` elsewhere): a
 * detached child does not die with us, so it is signalled synchronously while the process exits.
 */
export function signalOnExit(child: ChildProcess, signal: NodeJS.Signals): void {
  const hook = () => {
    if (isRunning(child)) child.kill(signal);
  };
  process.on('exit', hook);
  child.once('exit', () => process.off('exit', hook));
}

/** The last lines of a log file (empty if there is none), to explain a failed start in one line. */
export function logTail(file: string): string[] {
  let fd: number | undefined;
  try {
    const size = statSync(file).size;
    const length = Math.min(size, 16_384);
    const buffer = Buffer.alloc(length);
    fd = openSync(file, 'r');
    readSync(fd, buffer, 0, length, size - length);
    return buffer.toString('utf8').split('\n').map((l) => l.trim()).filter(Boolean);
  } catch {
    return [];
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** The last of `lines` that matches `pattern`, else the last line. */
export function lastLine(lines: string[], pattern: RegExp): string | undefined {
  return [...lines].reverse().find((l) => pattern.test(l)) ?? lines.at(-1);
}
