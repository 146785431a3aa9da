import { spawn, type ChildProcess } from 'node:child_process';
import { chownSync, closeSync, openSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { exited, isRunning, lastLine, logTail, signalOnExit, stopChild, type LocalChild, type LocalHooks } from './child.js';
import { hasCluster, planPostgres, type PostgresLayout } from './postgres-layout.js';
import { freePort } from './ports.js';
import { StartError } from './start-error.js';

export interface LocalPostgres {
  url: string;
  /** The same URL without its password, to print. */
  shownUrl: string;
  dataDir: string;
}

const DATABASE = 'orderworks';
/** Crash recovery of a local database replays little WAL, but a busy machine can be slow. */
const READY_WITHIN_MS = 120_000;
/** Fast shutdown (SIGINT) rolls back open transactions and checkpoints; past this, immediate (SIGQUIT). */
const STOP_GRACE_MS = 30_000;

/** Runs local mode's embedded Postgres (see postgres-layout.ts for where and as whom). */
export async function startPostgres(dataRoot: string, hooks: LocalHooks): Promise<LocalPostgres> {
  const layout = planPostgres(dataRoot);
  if (!hasCluster(layout.dataDir)) await initdb(layout);
  const log = path.join(dataRoot, 'postgres.log');
  // Another program may take the free port before Postgres binds it: try another.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnPort(layout, await freePort(), log, hooks);
    } catch (error) {
      if (!(error instanceof PortTaken) || attempt === 3) throw error;
    }
  }
}

class PortTaken extends Error {}

async function initdb(layout: PostgresLayout): Promise<void> {
  // The password goes in a file next to the cluster (reachable by its user, unlike a private TMPDIR).
  const pwfile = `${layout.dataDir}.pwfile`;
  writeFileSync(pwfile, `${layout.password}\n`, { mode: 0o600 });
  try {
    if (layout.runAs) chownSync(pwfile, layout.runAs.uid, layout.runAs.gid);
    const args = ['-D', layout.dataDir, '-U', 'postgres', '--auth=scram-sha-256', `--pwfile=${pwfile}`, '-E', 'UTF8', '--locale=C'];
    const child = spawn(layout.bin.initdb, args, {
      ...ids(layout),
      cwd: path.dirname(layout.dataDir),
      env: { ...process.env, LC_ALL: 'C' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    signalOnExit(child, 'SIGTERM');
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + String(d)).slice(-8_192)));
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (c) => resolve(c));
    }).catch((error: Error) => {
      throw new StartError(`could not run initdb: ${error.message}`);
    });
    if (code !== 0) {
      const reason = lastLine(stderr.split('\n').map((l) => l.trim()).filter(Boolean), /error|fatal/i) ?? `exit code ${code}`;
      throw new StartError(`initdb could not create the Postgres cluster in ${layout.dataDir}: ${reason}`);
    }
  } finally {
    rmSync(pwfile, { force: true });
  }
}

async function startOnPort(layout: PostgresLayout, port: number, log: string, hooks: LocalHooks): Promise<LocalPostgres> {
  const fd = openSync(log, 'w');
  const args = ['-D', layout.dataDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='];
  // Its own process group: the terminal's Ctrl-C is for us, and we stop Postgres after our own shutdown.
  const child = spawn(layout.bin.postgres, args, { ...ids(layout), cwd: layout.dataDir, detached: true, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  let spawnError: Error | undefined;
  child.once('error', (error) => (spawnError = error));
  signalOnExit(child, 'SIGINT');
  hooks.teardown.add(() => stopChild(child, 'SIGINT', STOP_GRACE_MS, 'SIGQUIT'));
  const running: LocalChild = { pid: child.pid ?? 0, cwd: realpathSync(layout.dataDir), signal: 'SIGINT' };
  if (child.pid) hooks.spawned(running);

  try {
    const client = await connectWhenReady(child, () => spawnError, layout, port, log);
    try {
      const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE]);
      if (!found.rowCount) await client.query(`CREATE DATABASE ${client.escapeIdentifier(DATABASE)}`);
    } finally {
      await client.end();
    }
  } catch (error) {
    await stopChild(child, 'SIGINT', STOP_GRACE_MS, 'SIGQUIT');
    throw error;
  }
  const url = (password: string) => `postgres://postgres:${password}@127.0.0.1:${port}/${DATABASE}`;
  return { url: url(encodeURIComponent(layout.password)), shownUrl: url('***'), dataDir: layout.dataDir };
}

async function connectWhenReady(child: ChildProcess, spawnError: () => Error | undefined, layout: PostgresLayout, port: number, log: string): Promise<pg.Client> {
  for (const t0 = Date.now(); ; ) {
    const error = spawnError();
    if (error) throw new StartError(`could not run Postgres: ${error.message}`);
    if (!isRunning(child)) {
      await exited(child);
      const lines = logTail(log);
      if (lines.some((l) => /could not bind .*address already in use/i.test(l))) throw new PortTaken();
      throw new StartError(`Postgres stopped while starting: ${lastLine(lines, /FATAL|PANIC|ERROR/) ?? `exit code ${child.exitCode}`} (log: ${log})`);
    }
    const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', password: layout.password, database: 'postgres', connectionTimeoutMillis: 5_000 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      return client;
    } catch (e) {
      await client.end().catch(() => undefined);
      if ((e as { code?: string }).code === '28P01') {
        throw new StartError(`Postgres in ${layout.dataDir} refused the password kept for it in .data/postgres.json`);
      }
      if (Date.now() - t0 > READY_WITHIN_MS) throw new StartError(`Postgres did not accept connections within ${READY_WITHIN_MS / 1000} s (log: ${log})`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

const ids = (layout: PostgresLayout) => (layout.runAs ? { uid: layout.runAs.uid, gid: layout.runAs.gid } : {});
