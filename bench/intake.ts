import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { bullPrefix } from '../src/queue/redis.js';
import { RETENTION } from '../jobs/job-definition.js';
import { perOrder, readCounters } from './counters.js';
import { breakdown, groupMs, startCpuMeter, startSystemMeter } from './cpu.js';
import { postOrders, type LoadResult } from './load.js';
import { spawnNaiveIntake } from './naive.js';
import { ms, rate, type Row } from './report.js';
import type { BenchSettings } from './settings.js';
import { bodiesFor, createBenchShop, plentyOf, type BenchShop } from './shop.js';
import type { BenchSystem } from './system.js';

export interface RawAdd {
  perSecond: number;
  p50: number;
  p99: number;
}

export const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;

/** The baseline: `count` plain Queue.add calls, `inFlight` at a time, from this one process. */
export async function rawQueueAdd(sys: BenchSystem, count: number, inFlight: number): Promise<RawAdd> {
  const queue = new Queue('bench-raw-add', { connection: sys.redis, prefix: bullPrefix(sys.prefix) });
  await queue.waitUntilReady();
  const latencies: number[] = [];
  let issued = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (issued < count) {
        issued++;
        const s = performance.now();
        await queue.add('place', { v: 1, orderId: randomUUID() }, RETENTION);
        latencies.push(performance.now() - s);
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  await queue.obliterate({ force: true });
  await queue.close();
  latencies.sort((a, b) => a - b);
  return { perSecond: count / seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

/**
 * Intake alone (no worker running, so nothing competes for the two cores): orders answered 202 per second
 * at `connections`, next to raw Queue.add. The accepted orders stay queued; the caller drains them.
 */
export async function intakeScenario(sys: BenchSystem, settings: BenchSettings): Promise<{ rows: Row[]; shop: BenchShop; load: LoadResult; raw: RawAdd }> {
  const shop = await createBenchShop(sys, 'bench-intake', plentyOf(settings, 'IN'));
  // Every side warmed up first (a fifth of the count, on a shop and a queue of their own): a cold process's
  // first seconds are JIT compilation, not its rate. The warm-up orders are drained with the rest.
  const warmup = Math.ceil(settings.intakeOrders / 5);
  const warmShop = await createBenchShop(sys, 'bench-warmup', plentyOf(settings, 'WU'));
  const body = (s: BenchShop) => bodiesFor(settings, s);
  await postOrders(sys.base, warmShop, warmup, settings.connections, body(warmShop));
  await rawQueueAdd(sys, warmup, settings.connections);
  const raw = await rawQueueAdd(sys, settings.intakeOrders, settings.connections);
  const naive = await naiveIntake(sys, settings, [shop, warmShop], warmup, body);
  const before = await readCounters(sys, false);
  const meter = await startSystemMeter(sys);
  const load = await postOrders(sys.base, shop, settings.intakeOrders, settings.connections, body(shop));
  const cpu = await meter.stop();
  const perSecond = load.accepted / load.seconds;
  const work = perOrder(before, await readCounters(sys, false), settings.intakeOrders, false);
  const failed = load.other + load.errors;
  const naiveFailed = naive.load.other + naive.load.errors;
  const ratio = perSecond / naive.perSecond;
  return {
    shop,
    load,
    raw,
    rows: [
      {
        scenario: '1 intake',
        measure: `POST /v1/orders answered 202, ${settings.connections} connections${failed ? ` (${failed} not 202)` : ''}`,
        orderworks: rate(perSecond),
        baseline: `${rate(raw.perSecond, 'adds/s')} (raw Queue.add, ${settings.connections} in flight)`,
        ratio: perSecond / raw.perSecond,
        target: '>= 0.50',
        met: perSecond / raw.perSecond >= 0.5 && failed === 0,
      },
      {
        scenario: '1 intake',
        measure: `against the naive intake (Express, the same zod validation, Queue.add, no Postgres), ${settings.connections} connections${naiveFailed ? ` (naive: ${naiveFailed} not 202)` : ''}`,
        orderworks: rate(perSecond),
        baseline: `${rate(naive.perSecond)} (bench/naive-intake.ts, a process of its own)`,
        ratio,
        target: '>= 0.60',
        met: ratio >= 0.6 && failed === 0,
      },
      {
        scenario: '1 intake',
        measure: 'latency p50 / p99',
        orderworks: `${ms(load.p50)} / ${ms(load.p99)}`,
        baseline: `${ms(raw.p50)} / ${ms(raw.p99)} (Queue.add); ${ms(naive.load.p50)} / ${ms(naive.load.p99)} (naive intake)`,
        ratio: null,
        target: 'p99 < 50 ms',
        met: load.p99 < 50,
      },
      { scenario: '1 intake', measure: 'server work per order (Redis: whole server, inside Lua included)', orderworks: work, baseline: '', ratio: null, target: '', met: null },
      {
        scenario: '1 intake',
        measure: 'CPU per order, intake alone (ms, /proc; Redis: whole server)',
        orderworks: breakdown(cpu, 'orderworks', load.accepted || 1),
        baseline: `naive: ${breakdown(naive.cpu, 'orderworks', naive.load.accepted || 1)}`,
        ratio: null,
        target: '',
        met: null,
      },
    ],
  };
}

/**
 * The naive intake (bench/naive-intake.ts) in a process of its own, warmed up, then `settings.intakeOrders`
 * POSTed at it as at orderworks: its rate, latency and CPU per order (its process and Redis).
 */
async function naiveIntake(sys: BenchSystem, settings: BenchSettings, shops: BenchShop[], warmup: number, body: (s: BenchShop) => (i: number) => string) {
  const naive = await spawnNaiveIntake(sys, settings, shops);
  try {
    await postOrders(naive.base, shops[1]!, warmup, settings.connections, body(shops[1]!));
    const meter = await startCpuMeter(sys.pool, sys.redis, { processes: [{ role: 'naive intake', group: 'orderworks', pid: naive.child.proc.pid }], backends: {} });
    const load = await postOrders(naive.base, shops[0]!, settings.intakeOrders, settings.connections, body(shops[0]!));
    const cpu = (await meter.stop()).filter((r) => r.group === 'orderworks');
    return { load, perSecond: load.accepted / load.seconds, cpu, cpuMs: groupMs(cpu, 'orderworks') };
  } finally {
    await naive.close();
  }
}
