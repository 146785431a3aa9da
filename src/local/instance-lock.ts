import { mkdirSync, readFileSync, readlinkSync, realpathSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { LocalChild } from './child.js';
import { StartError } from './start-error.js';

interface Holder {
  pid: number;
  cwd: string;
  children: LocalChild[];
}

/** How long a leftover service gets to stop cleanly before it is killed. */
const LEFTOVER_GRACE_MS = 30_000;

/**
 * One `npm start` per data folder: two would run two Redis servers over one append-only file and two
 * Postgres clusters over one folder. The lock file also lists the services the holder started, so a start
 * after a holder that was killed outright (SIGKILL, a power cut of the terminal) stops what it left running.
 */
export class InstanceLock {
  readonly #file: string;
  readonly #holder: Holder;

  private constructor(file: string, holder: Holder) {
    this.#file = file;
    this.#holder = holder;
    process.on('exit', () => this.release());
  }

  static async acquire(dataDir: string): Promise<InstanceLock> {
    mkdirSync(dataDir, { recursive: true });
    const file = path.join(dataDir, 'orderworks.pid');
    const me: Holder = { pid: process.pid, cwd: realpathSync(process.cwd()), children: [] };
    for (let attempt = 1; ; attempt++) {
      try {
        writeFileSync(file, JSON.stringify(me), { flag: 'wx' });
        return new InstanceLock(file, me);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt === 5) throw error;
      }
      const holder = readHolder(file);
      if (!holder) {
        // Just created by another start that has not written it yet, or unreadable: look again shortly.
        await sleep(200);
        if (readHolder(file) === undefined && attempt >= 3) unlinkQuietly(file);
        continue;
      }
      if (holderAlive(holder)) {
        throw new StartError(
          `already running in ${holder.cwd} (pid ${holder.pid}): stop it first (Ctrl-C in its terminal, or kill ${holder.pid})`,
        );
      }
      await stopLeftovers(holder.children);
      unlinkQuietly(file);
    }
  }

  /** Adds a service process to the lock file as soon as it runs. */
  record(child: LocalChild): void {
    this.#holder.children.push(child);
    // Replaced whole, so that a start reading it at the same moment never sees half a file.
    const next = `${this.#file}.${process.pid}`;
    writeFileSync(next, JSON.stringify(this.#holder));
    renameSync(next, this.#file);
  }

  release(): void {
    if (readHolder(this.#file)?.pid === this.#holder.pid) unlinkQuietly(this.#file);
  }
}

function readHolder(file: string): Holder | undefined {
  try {
    const h = JSON.parse(readFileSync(file, 'utf8')) as Partial<Holder>;
    if (typeof h.pid !== 'number' || typeof h.cwd !== 'string') return undefined;
    return { pid: h.pid, cwd: h.cwd, children: Array.isArray(h.children) ? h.children : [] };
  } catch {
    return undefined;
  }
}

/** A live process with the holder's pid that is not the holder (a pid reused after a reboot) is not it. */
function holderAlive(holder: Holder): boolean {
  if (holder.pid === process.pid || !alive(holder.pid)) return false;
  const cwd = procLink(holder.pid, 'cwd');
  if (cwd !== undefined && cwd !== holder.cwd) return false;
  const cmdline = procFile(holder.pid, 'cmdline');
  return cmdline === undefined || /bin[/\\]start\.[jt]s/.test(cmdline);
}

async function stopLeftovers(children: LocalChild[]): Promise<void> {
  // Only a process still in the folder it was started in: never one that merely reuses the pid.
  const left = children.filter((c) => alive(c.pid) && procLink(c.pid, 'cwd') === c.cwd);
  for (const c of left) signal(c.pid, c.signal);
  const t0 = Date.now();
  while (left.some((c) => alive(c.pid))) {
    if (Date.now() - t0 > LEFTOVER_GRACE_MS) {
      for (const c of left) signal(c.pid, 'SIGKILL');
      break;
    }
    await sleep(100);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  // An exited process nobody has reaped yet (orphans go to an init that may not reap) still has its pid.
  const stat = procFile(pid, 'stat');
  return stat === undefined || !/^\d+ \(.*\) Z/.test(stat);
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    /* gone already */
  }
}

/** A link in /proc, where there is one (Linux) and we may read it. */
function procLink(pid: number, name: string): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/${name}`);
  } catch {
    return undefined;
  }
}

function procFile(pid: number, name: string): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/${name}`, 'utf8');
  } catch {
    return undefined;
  }
}

function unlinkQuietly(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    /* already gone */
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
