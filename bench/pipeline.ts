import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { Queue } from 'bullmq';
import { RETENTION } from '../jobs/job-definition.js';
import { bullPrefix } from '../src/queue/redis.js';
import { flowLabel, withBuyers } from './buyer.js';
import { perOrder, readCounters } from './counters.js';
import { breakdown, groupMs, startSystemMeter, type CpuRole } from './cpu.js';
import { pollEvery, postAndSettle } from './load.js';
import { peakRss, ROOT, sleep, spawnNode, stop, waitForLine, whileAlive } from './processes.js';
import { ms, rate, type Row } from './report.js';
import type { BenchSettings } from './settings.js';
import { bodiesFor, createBenchShop, plentyOf } from './shop.js';
import type { BenchSystem } from './system.js';

const RAW_QUEUE = 'bench-raw-pipeline';

/**
 * The baseline: `count` jobs added `inFlight` at a time from this process, consumed by the raw worker
 * process at `concurrency`; from the first add until Postgres holds every job's row.
 */
export async function rawPipeline(sys: BenchSystem, settings: BenchSettings, count: number): Promise<{ perSecond: number; peakRss: number; perJob: string }> {
  await sys.pool.query(`
    CREATE TABLE IF NOT EXISTS bench_stock (id integer PRIMARY KEY, stock integer NOT NULL CHECK (stock >= 0));
    CREATE TABLE IF NOT EXISTS bench_orders (id uuid PRIMARY KEY, sku_id integer NOT NULL, placed boolean NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
    TRUNCATE bench_orders;
    INSERT INTO bench_stock (id, stock) SELECT g, 100000000 FROM generate_series(0, ${settings.skus - 1}) g ON CONFLICT (id) DO NOTHING;`);
  const entry = settings.runtime === 'dist' ? [path.join(ROOT, 'dist/bench/raw-worker.js')] : ['--import', 'tsx', path.join(ROOT, 'bench/raw-worker.ts')];
  const worker = spawnNode('raw-worker', entry, {
    RAW_DATABASE_URL: sys.databaseUrl, RAW_REDIS_URL: sys.env.REDIS_URL!, RAW_PREFIX: bullPrefix(sys.prefix),
    RAW_QUEUE, RAW_CONCURRENCY: String(settings.rawConcurrency),
  }, settings);
  const queue = new Queue(RAW_QUEUE, { connection: sys.redis, prefix: bullPrefix(sys.prefix) });
  try {
    await waitForLine(worker, 'ready', 60_000);
    const before = await readCounters(sys);
    let issued = 0;
    const t0 = performance.now();
    const adding = Promise.all(
      Array.from({ length: settings.connections }, async () => {
        while (issued < count) {
          const n = issued++;
          await queue.add('place', { orderId: randomUUID(), skuId: n % settings.skus }, RETENTION);
        }
      }),
    );
    adding.catch(() => undefined); // awaited below; this only keeps an early failure from going unhandled
    let done = 0;
    while (done < count) {
      if (worker.proc.exitCode !== null) throw new Error(`raw worker exited:\n${worker.tail.join('\n')}`);
      await sleep(pollEvery(count, 1000));
      done = (await sys.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM bench_orders')).rows[0]!.n;
      if (performance.now() - t0 > settings.waitTimeoutMs) throw new Error(`raw worker did ${done} of ${count} jobs in time`);
    }
    const seconds = (performance.now() - t0) / 1000;
    await whileAlive([worker], adding);
    const rss = peakRss(worker.proc.pid);
    await stop(worker); // its backends publish their statistics as they exit
    await sleep(1_100);
    return { perSecond: count / seconds, peakRss: rss, perJob: perOrder(before, await readCounters(sys, false), count) };
  } finally {
    await stop(worker);
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
  }
}

/** The whole pipeline, a worker running (the caller starts it): from the first POST until every order is `paid`. */
export async function pipelineScenario(sys: BenchSystem, settings: BenchSettings, raw: { perSecond: number; perJob: string }): Promise<{ rows: Row[]; cpu: CpuRole[] }> {
  const shop = await createBenchShop(sys, 'bench-pipeline', plentyOf(settings, 'PL'));
  const n = settings.pipelineOrders;
  const before = await readCounters(sys);
  const meter = await startSystemMeter(sys);
  const { result: run, buyers } = await withBuyers(sys.pool, sys, shop, settings, () => whileAlive(
    sys.children(),
    postAndSettle(sys.pool, sys.base, shop, n, settings.connections, bodiesFor(settings, shop), settings.waitTimeoutMs),
  ));
  const cpu = await meter.stop();
  const paid = run.counts.paid ?? 0;
  const perSecond = paid / run.seconds;
  const after = await readCounters(sys);
  const ours = groupMs(cpu, 'orderworks') / n;
  const rows: Row[] = [
    {
      scenario: '2 pipeline',
      measure: `${n.toLocaleString('en-US')} orders, first POST to all \`paid\`${buyers ? ` (${flowLabel(settings)}: each buyer opens the action and pays)` : ''}${paid === n ? '' : ` (only ${paid} paid: ${JSON.stringify(run.counts)})`}`,
      orderworks: rate(perSecond),
      baseline: `${rate(raw.perSecond, 'jobs/s')} (raw BullMQ worker, 1 tx/job, concurrency ${settings.rawConcurrency})`,
      ratio: perSecond / raw.perSecond,
      target: '>= 0.50 (aim 1.0)',
      met: perSecond / raw.perSecond >= 0.5 && paid === n,
    },
    {
      scenario: '2 pipeline',
      measure: `intake latency p50 / p99 while the workers run, ${settings.connections} connections`,
      orderworks: `${ms(run.load.p50)} / ${ms(run.load.p99)}`,
      baseline: '',
      ratio: null,
      target: 'p99 < 50 ms',
      met: run.load.p99 < 50,
    },
    {
      scenario: '2 pipeline',
      measure: 'CPU per order, POST to `paid`: orderworks (web + worker + Postgres + Redis), sandbox provider apart',
      orderworks: breakdown(cpu, 'orderworks', n),
      baseline: `sandbox provider: ${breakdown(cpu, 'sandbox', n)}`,
      ratio: null,
      target: '<= 2.5 ms',
      met: ours <= 2.5,
    },
    ...(buyers ? [{
      scenario: '2 pipeline',
      measure: "buyer's step: order read, action opened, Pay answered, p50 / p99; order created to Pay answered, p50 / p99",
      orderworks: `${ms(buyers.buyerStep.p50)} / ${ms(buyers.buyerStep.p99)}; ${ms(buyers.createdToPay.p50)} / ${ms(buyers.createdToPay.p99)}`,
      baseline: `${buyers.paid} paid by their buyers${buyers.refused || buyers.errors ? `, ${buyers.refused} refused, ${buyers.errors} errors` : ''}`,
      ratio: null,
      target: '',
      met: null,
    }] : []),
    {
      scenario: '2 pipeline',
      measure: 'server work per order (POST to paid)',
      orderworks: perOrder(before, after, n),
      baseline: `${raw.perJob} (raw worker, per job)`,
      ratio: null,
      target: '',
      met: null,
    },
  ];
  return { rows, cpu };
}
