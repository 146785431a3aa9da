import type { App, PostgresServer, RedisServer } from './cluster.js';
import { sleep } from './cluster.js';
import type { ChaosOptions } from './options.js';

/**
 * The disruptions of a chaos run, on a timeline relative to the start of the load: worker SIGKILLs spread
 * over it, Redis restarts, Postgres outages, and provider and carrier fault windows through the sandbox.
 */

export interface Timeline {
  t0: number;
  events: string[];
  /** What is down right now ('redis' | 'postgres'), for the HTTP counters. */
  down: string | null;
  kills: number;
  redisRestarts: number;
  postgresOutages: number;
  faultWindows: string[];
}

export const newTimeline = (): Timeline => ({ t0: Date.now(), events: [], down: null, kills: 0, redisRestarts: 0, postgresOutages: 0, faultWindows: [] });

export function note(tl: Timeline, what: string, verbose: boolean): void {
  const line = `+${((Date.now() - tl.t0) / 1000).toFixed(1)}s ${what}`;
  tl.events.push(line);
  if (verbose) process.stdout.write(`  ${line}\n`);
}

interface Deps {
  app: App;
  redis: RedisServer;
  postgres: PostgresServer;
  tl: Timeline;
  opts: ChaosOptions;
  random: () => number;
  /** Probes the intake while something is down (each probe is a real order the shop then tracks). */
  probe: () => void;
  stopped: () => boolean;
}

/** Every disruption of the run, scheduled over `loadMs`; resolves when the last one is over. */
export async function disrupt(d: Deps, loadMs: number): Promise<void> {
  const at = (fraction: number) => d.tl.t0 + fraction * loadMs;
  const tasks: Promise<void>[] = [];
  tasks.push(kills(d, loadMs));
  tasks.push(paymentFaults(d, at(0.12)));
  tasks.push(providerDown(d, at(0.35)));
  for (let i = 0; i < d.opts.redisRestarts; i++) tasks.push(redisRestart(d, at(0.3 + (0.5 * i) / Math.max(1, d.opts.redisRestarts))));
  tasks.push(carrierFaults(d, at(0.45)));
  for (let i = 0; i < d.opts.postgresOutages; i++) tasks.push(postgresOutage(d, at(0.62 + (0.3 * i) / Math.max(1, d.opts.postgresOutages))));
  await Promise.all(tasks);
}

const until = async (when: number, d: Deps) => {
  while (Date.now() < when && !d.stopped()) await sleep(Math.min(200, when - Date.now()));
};

async function kills(d: Deps, loadMs: number): Promise<void> {
  const n = d.opts.kills;
  const slot = (0.9 * loadMs) / Math.max(1, n);
  for (let i = 0; i < n && !d.stopped(); i++) {
    await until(d.tl.t0 + 0.05 * loadMs + slot * (i + 0.2 + 0.6 * d.random()), d);
    const w = Math.floor(d.random() * d.app.workers.length);
    await d.app.killWorker(w);
    d.tl.kills++;
    note(d.tl, `SIGKILL worker-${w + 1} (restarted)`, d.opts.verbose);
  }
}

/** While `what` is down, the intake is probed every 250 ms. */
async function outage(d: Deps, what: string, downMs: number, stop: () => Promise<void>, start: () => Promise<void>): Promise<void> {
  d.tl.down = what;
  await stop();
  note(d.tl, `${what} down`, d.opts.verbose);
  const end = Date.now() + downMs;
  while (Date.now() < end) {
    d.probe();
    await sleep(250);
  }
  await start();
  d.tl.down = null;
  note(d.tl, `${what} back`, d.opts.verbose);
}

async function redisRestart(d: Deps, when: number): Promise<void> {
  await until(when, d);
  if (d.stopped()) return;
  // SIGKILL: no final AOF rewrite, up to a second of writes lost (appendfsync everysec); the sweep repairs.
  await outage(d, 'redis', d.opts.redisDownMs, () => d.redis.stop('SIGKILL'), () => d.redis.start());
  d.tl.redisRestarts++;
}

async function postgresOutage(d: Deps, when: number): Promise<void> {
  await until(when, d);
  if (d.stopped()) return;
  await outage(d, 'postgres', d.opts.postgresDownMs, () => d.postgres.stop(), () => d.postgres.start());
  d.tl.postgresOutages++;
}

/** POSTs a sandbox fault, retried while the web process (or its Postgres) cannot take it. */
async function setFault(d: Deps, path: string, body: object): Promise<boolean> {
  for (let i = 0; i < 40 && !d.stopped(); i++) {
    const ok = await fetch(`${d.app.base}/sandbox${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(5_000),
    }).then((r) => r.ok, () => false);
    if (ok) return true;
    await sleep(250);
  }
  return false;
}

/** The card provider answers 500, then never answers, then 429, one window each; PayPal 500s meanwhile. */
async function paymentFaults(d: Deps, when: number): Promise<void> {
  const w = d.opts.faultWindowMs;
  await until(when, d);
  if (await setFault(d, '/faults', { method: 'paypal', mode: 'error500', forMs: w })) d.tl.faultWindows.push(`paypal error500 ${w / 1000}s`);
  for (const mode of ['error500', 'timeout', 'rate_limit']) {
    if (d.stopped()) return;
    if (await setFault(d, '/faults', { method: 'card', mode, forMs: w })) {
      d.tl.faultWindows.push(`card ${mode} ${w / 1000}s`);
      note(d.tl, `payment provider card: ${mode} for ${w / 1000}s`, d.opts.verbose);
    }
    await sleep(w);
  }
}

/**
 * A wallet provider down (Alipay answers 500 to every call: opening trades, queries, closes, refunds) for
 * `providerDownMs`, while its buyers keep paying on its checkout page and its notifications keep coming.
 */
async function providerDown(d: Deps, when: number): Promise<void> {
  const ms = d.opts.providerDownMs;
  if (ms <= 0) return;
  await until(when, d);
  if (d.stopped()) return;
  if (await setFault(d, '/faults', { method: 'alipay', mode: 'error500', forMs: ms })) {
    d.tl.faultWindows.push(`alipay down (error500) ${ms / 1000}s`);
    note(d.tl, `payment provider alipay: down for ${ms / 1000}s`, d.opts.verbose);
  }
  await sleep(ms);
}

/** The carrier answers 429, then 500, one window each. */
async function carrierFaults(d: Deps, when: number): Promise<void> {
  const w = d.opts.faultWindowMs;
  await until(when, d);
  for (const mode of ['rate_limit', 'error500']) {
    if (d.stopped()) return;
    if (await setFault(d, '/carrier/faults', { mode, forMs: w })) {
      d.tl.faultWindows.push(`carrier ${mode} ${w / 1000}s`);
      note(d.tl, `carrier: ${mode} for ${w / 1000}s`, d.opts.verbose);
    }
    await sleep(w);
  }
}
