import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import { APP_NAMES, type BenchSystem } from './system.js';

/**
 * CPU time per process over a stretch of the run, read from /proc/<pid>/stat (utime + stime: every thread of
 * the process, user and system), for the roles of issue 15: web, worker, Postgres, Redis, and the sandbox
 * provider apart.
 *
 * Postgres is one process per connection. The backends of this run's database are found in `pg_stat_activity`
 * (each process of the system under test connects with an `application_name` of its own, so each backend is
 * put down to web, worker, sandbox or the bench) and read every SAMPLE_MS while the meter runs: a backend
 * born during the stretch counts from 0, one that exits loses at most its last SAMPLE_MS (the pools close a
 * connection only after 10 s idle, when it has nothing left to lose). Postgres's own server processes (WAL
 * writer, checkpointer, background writer, the postmaster) are shared by every database on the server, so
 * they are shown apart and not counted; so is Redis, which is one process for everyone using the server.
 */
const SAMPLE_MS = 200;

let ticksPerSecond: number | undefined;
function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

interface Stat {
  comm: string;
  ppid: number;
  /** utime + stime, in ms. */
  cpuMs: number;
}

/** One process's /proc/<pid>/stat, or undefined once it is gone. */
export function procStat(pid: number): Stat | undefined {
  let raw: string;
  try {
    raw = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // comm may hold spaces and parentheses: the fields after it start past the last ')'.
  const close = raw.lastIndexOf(')');
  const rest = raw.slice(close + 2).split(' ');
  const ticks = Number(rest[11]) + Number(rest[12]);
  return { comm: raw.slice(raw.indexOf('(') + 1, close), ppid: Number(rest[1]), cpuMs: (ticks * 1000) / clockTicks() };
}

/** Where a role's CPU is counted: orderworks' own share, the provider's, the harness's, or shared with others. */
export type CpuGroup = 'orderworks' | 'sandbox' | 'harness' | 'shared';

export interface CpuRole {
  role: string;
  group: CpuGroup;
  ms: number;
  /** Processes read (backends: how many were seen during the stretch). */
  processes: number;
}

export interface CpuMeterOptions {
  /** Long-lived processes: the children of the bench. */
  processes: Array<{ role: string; group: CpuGroup; pid: number | undefined }>;
  /** Backends of this run's database by application_name. */
  backends: Record<string, { role: string; group: CpuGroup }>;
  /** The role of autovacuum workers on this run's database (they clean up after its writes). */
  autovacuum?: { role: string; group: CpuGroup };
  /** The harness's own process (process.cpuUsage) under this role, when given. */
  self?: { role: string; group: CpuGroup };
}

interface Tracked {
  role: string;
  group: CpuGroup;
  first: number;
  last: number;
}

async function redisPid(redis: Redis): Promise<number | undefined> {
  const pid = Number(/^process_id:(\d+)/m.exec(await redis.info('server'))?.[1]);
  // A Redis on another host (or in another PID namespace) is not ours to read.
  return pid && procStat(pid)?.comm.startsWith('redis') ? pid : undefined;
}

/** Redis's CPU in ms: from /proc when it runs here, else its own INFO cpu (user + sys, every thread). */
async function redisCpuMs(redis: Redis, pid: number | undefined): Promise<number> {
  if (pid) return procStat(pid)?.cpuMs ?? 0;
  const info = await redis.info('cpu');
  const f = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);
  return (f('used_cpu_user') + f('used_cpu_sys')) * 1000;
}

export interface CpuMeter {
  stop(): Promise<CpuRole[]>;
}

/** Starts reading; `stop()` returns each role's CPU over the stretch, in ms. */
export async function startCpuMeter(pool: pg.Pool, redis: Redis, options: CpuMeterOptions): Promise<CpuMeter> {
  const startedAt = Date.now();
  const tracked = new Map<number, Tracked>();
  const procs = options.processes.filter((p): p is typeof p & { pid: number } => p.pid !== undefined)
    .map((p) => ({ ...p, first: procStat(p.pid)?.cpuMs ?? 0 }));
  const self0 = process.cpuUsage();
  const rpid = await redisPid(redis);
  const redis0 = await redisCpuMs(redis, rpid);
  let postmaster: number | undefined;

  const sample = async (first: boolean) => {
    const { rows } = await pool.query<{ pid: number; app: string; type: string; born: Date | null }>(
      `SELECT pid, application_name AS app, backend_type AS type, backend_start AS born FROM pg_stat_activity
        WHERE datname = current_database() OR backend_type NOT IN ('client backend', 'autovacuum worker', 'parallel worker', 'walsender')`,
    );
    for (const r of rows) {
      const stat = procStat(r.pid);
      if (!stat) continue;
      postmaster ??= r.type === 'client backend' ? stat.ppid : undefined;
      const known = tracked.get(r.pid);
      if (known) {
        known.last = stat.cpuMs;
        continue;
      }
      const who = r.type === 'client backend' ? options.backends[r.app] ?? { role: `Postgres, other (${r.app || 'unnamed'})`, group: 'harness' as const }
        : r.type === 'autovacuum worker' ? options.autovacuum ?? { role: 'Postgres autovacuum', group: 'orderworks' as const }
        : { role: 'Postgres server processes (WAL writer, checkpointer...; whole server)', group: 'shared' as const };
      // A backend born during the stretch did all its work in it; one seen first later (a missed sample) from now.
      const bornInside = !first && r.born !== null && r.born.getTime() >= startedAt;
      tracked.set(r.pid, { ...who, first: bornInside ? 0 : stat.cpuMs, last: stat.cpuMs });
    }
  };

  await sample(true);
  if (postmaster) {
    const stat = procStat(postmaster);
    if (stat) tracked.set(postmaster, { role: 'Postgres server processes (WAL writer, checkpointer...; whole server)', group: 'shared', first: stat.cpuMs, last: stat.cpuMs });
  }
  let stopped = false;
  let failure: unknown;
  const loop = (async () => {
    while (!stopped) {
      await new Promise((r) => setTimeout(r, SAMPLE_MS));
      if (!stopped) await sample(false).catch((e) => void (failure = e));
    }
  })();

  return {
    async stop() {
      stopped = true;
      await loop;
      await sample(false);
      if (postmaster) {
        const t = tracked.get(postmaster);
        if (t) t.last = procStat(postmaster)?.cpuMs ?? t.last;
      }
      if (failure) throw failure;
      const roles = new Map<string, CpuRole>();
      const add = (role: string, group: CpuGroup, ms: number) => {
        const r = roles.get(role) ?? { role, group, ms: 0, processes: 0 };
        r.ms += Math.max(0, ms);
        r.processes++;
        roles.set(role, r);
      };
      for (const p of procs) add(p.role, p.group, (procStat(p.pid)?.cpuMs ?? p.first) - p.first);
      for (const t of tracked.values()) add(t.role, t.group, t.last - t.first);
      add(rpid ? 'Redis (whole server)' : 'Redis (whole server, INFO cpu)', 'orderworks', (await redisCpuMs(redis, rpid)) - redis0);
      if (options.self) {
        const used = process.cpuUsage(self0);
        add(options.self.role, options.self.group, (used.user + used.system) / 1000);
      }
      return [...roles.values()];
    },
  };
}

/** CPU of a group, in ms. */
export const groupMs = (roles: CpuRole[], group: CpuGroup) => roles.filter((r) => r.group === group).reduce((n, r) => n + r.ms, 0);

/** The per-role table of the report: each role's CPU over the stretch and per order. */
export function cpuTable(roles: CpuRole[], orders: number): string {
  const order: CpuGroup[] = ['orderworks', 'sandbox', 'harness', 'shared'];
  const label: Record<CpuGroup, string> = {
    orderworks: 'orderworks', sandbox: 'sandbox provider (apart)', harness: 'bench harness', shared: 'shared, not counted',
  };
  const lines = [...roles].sort((a, b) => order.indexOf(a.group) - order.indexOf(b.group) || b.ms - a.ms)
    .map((r) => [r.role, label[r.group], `${Math.round(r.ms).toLocaleString('en-US')}`, `${(r.ms / orders).toFixed(2)}`, String(r.processes)]);
  for (const g of ['orderworks', 'sandbox'] as const) {
    const ms = groupMs(roles, g);
    lines.push([`**${g === 'orderworks' ? 'orderworks total (web + worker + Postgres + Redis)' : 'sandbox total'}**`, label[g], `${Math.round(ms).toLocaleString('en-US')}`, `**${(ms / orders).toFixed(2)}**`, '']);
  }
  const head = ['role', 'counted in', 'CPU ms', 'ms per order', 'processes'];
  return [head, head.map(() => '---'), ...lines].map((c) => `| ${c.join(' | ')} |`).join('\n');
}

/** Every process of the bench system by role: web, worker (when running), the sandbox, and their backends. */
export function startSystemMeter(sys: BenchSystem, extra: CpuMeterOptions['processes'] = []): Promise<CpuMeter> {
  return startCpuMeter(sys.pool, sys.redis, {
    processes: [
      ...sys.webPids().map((pid) => ({ role: 'web', group: 'orderworks' as const, pid })),
      ...sys.workers.map((w) => ({ role: 'worker', group: 'orderworks' as const, pid: w.proc.pid })),
      { role: 'sandbox provider process', group: 'sandbox', pid: sys.sandbox.proc.pid },
      ...extra,
    ],
    backends: {
      [APP_NAMES.web]: { role: 'Postgres backends of web', group: 'orderworks' },
      [APP_NAMES.worker]: { role: 'Postgres backends of worker', group: 'orderworks' },
      [APP_NAMES.sandbox]: { role: 'Postgres backends of the sandbox', group: 'sandbox' },
      [APP_NAMES.bench]: { role: 'Postgres backends of the bench (polls, buyers)', group: 'harness' },
    },
    autovacuum: { role: 'Postgres autovacuum of the run database', group: 'orderworks' },
    self: { role: 'bench process (load generator, polls)', group: 'harness' },
  });
}

/** CPU ms of each role of a group, every Postgres backend role summed under `Postgres` and Redis under `Redis`. */
export function roleTotals(roles: CpuRole[], group: CpuGroup): Map<string, number> {
  const parts = new Map<string, number>();
  for (const r of roles.filter((x) => x.group === group)) {
    const name = r.role.startsWith('Postgres') ? 'Postgres' : r.role.startsWith('Redis') ? 'Redis' : r.role;
    parts.set(name, (parts.get(name) ?? 0) + r.ms);
  }
  return parts;
}

/** "web 1.20 + Postgres 0.80 + Redis 0.30 = 2.30 ms" per order for a group, Postgres and Redis roles summed. */
export function breakdown(roles: CpuRole[], group: CpuGroup, orders: number): string {
  const per = (ms: number) => (ms / orders).toFixed(2);
  return `${[...roleTotals(roles, group)].map(([name, ms]) => `${name} ${per(ms)}`).join(' + ')} = ${per(groupMs(roles, group))} ms`;
}
