import os from 'node:os';
import { execFileSync } from 'node:child_process';
import { groupMs, roleTotals, startSystemMeter, type CpuRole } from './cpu.js';
import { postAndSettle, postOrders, waitForOrders } from './load.js';
import { whileAlive } from './processes.js';
import { ms, rate } from './report.js';
import { loadSettings, type BenchSettings } from './settings.js';
import { bodiesFor, createBenchShop, plentyOf, settled } from './shop.js';
import { startBenchSystem, type BenchSystem } from './system.js';

/**
 * `npm run bench:scaling`: how each role grows with processes (issue 15, SCALING.md). For each layout of web and
 * worker processes (BENCH_SCALING, default `1x1,2x1,1x2,2x2`: web x worker), one fresh system runs the intake
 * alone (no worker) and then the pipeline to `paid`, and prints orders/s and CPU per order by role, side by side.
 * Sizes: BENCH_INTAKE_ORDERS and BENCH_PIPELINE_ORDERS (default 3,000 each), the rest as `npm run bench`.
 */
interface Layout {
  web: number;
  worker: number;
}

interface Measured {
  layout: Layout;
  intake: { perSecond: number; p99: number; webMs: number; totalMs: number };
  pipeline: { perSecond: number; p99: number; roles: Record<string, number>; totalMs: number };
}

const log = (line: string) => process.stderr.write(`bench:scaling: ${line}\n`);

function layouts(raw: string): Layout[] {
  return raw.split(',').map((part) => {
    const m = /^(\d+)x(\d+)$/.exec(part.trim());
    if (!m || Number(m[1]) < 1 || Number(m[2]) < 1) throw new Error(`BENCH_SCALING: "${part}" is not WEBxWORKER, e.g. 2x1`);
    return { web: Number(m[1]), worker: Number(m[2]) };
  });
}

/** CPU ms per order of each of orderworks' roles (web, worker, Postgres, Redis). */
const byRole = (cpu: CpuRole[], orders: number): Record<string, number> =>
  Object.fromEntries([...roleTotals(cpu, 'orderworks')].map(([name, ms]) => [name, ms / orders]));

async function measure(settings: BenchSettings, layout: Layout): Promise<Measured> {
  const sys: BenchSystem = await startBenchSystem({ ...settings, webProcesses: layout.web, workerProcesses: layout.worker });
  try {
    const warm = await createBenchShop(sys, 'scaling-warmup', plentyOf(settings, 'WU'));
    await postOrders(sys.base, warm, Math.ceil(settings.intakeOrders / 5), settings.connections, bodiesFor(settings, warm));

    const intakeShop = await createBenchShop(sys, 'scaling-intake', plentyOf(settings, 'SI'));
    const intakeMeter = await startSystemMeter(sys);
    const load = await whileAlive(sys.children(), postOrders(sys.base, intakeShop, settings.intakeOrders, settings.connections, bodiesFor(settings, intakeShop)));
    const intakeCpu = await intakeMeter.stop();
    if (load.accepted !== settings.intakeOrders) throw new Error(`intake: ${load.accepted} of ${settings.intakeOrders} accepted`);

    // The workers drain the intake's backlog (not measured) before the pipeline starts on an empty queue.
    await sys.startWorker();
    for (const shop of [warm, intakeShop]) {
      await waitForOrders(sys.pool, shop.id, (c) => settled(c) === c.total, { timeoutMs: settings.waitTimeoutMs, intervalMs: 200 });
    }
    const shop = await createBenchShop(sys, 'scaling-pipeline', plentyOf(settings, 'SP'));
    const n = settings.pipelineOrders;
    const meter = await startSystemMeter(sys);
    const run = await whileAlive(sys.children(), postAndSettle(sys.pool, sys.base, shop, n, settings.connections, bodiesFor(settings, shop), settings.waitTimeoutMs));
    const cpu = await meter.stop();
    if ((run.counts.paid ?? 0) !== n) throw new Error(`pipeline: ${JSON.stringify(run.counts)} of ${n}`);
    const webMs = byRole(intakeCpu, settings.intakeOrders);
    return {
      layout,
      intake: { perSecond: load.accepted / load.seconds, p99: load.p99, webMs: webMs.web ?? 0, totalMs: groupMs(intakeCpu, 'orderworks') / settings.intakeOrders },
      pipeline: { perSecond: n / run.seconds, p99: run.load.p99, roles: byRole(cpu, n), totalMs: groupMs(cpu, 'orderworks') / n },
    };
  } finally {
    await sys.close();
  }
}

function report(settings: BenchSettings, results: Measured[]): string {
  const f = (n: number | undefined) => (n ?? 0).toFixed(2);
  const head = ['web x worker processes', 'intake alone: orders/s (p99)', 'intake: web ms/order', 'pipeline: orders/s to `paid` (p99)', 'pipeline ms/order: web', 'worker', 'Postgres', 'Redis', 'orderworks total'];
  const rows = results.map((r) => [
    `${r.layout.web} x ${r.layout.worker}`,
    `${rate(r.intake.perSecond)} (${ms(r.intake.p99)})`,
    f(r.intake.webMs),
    `${rate(r.pipeline.perSecond)} (${ms(r.pipeline.p99)})`,
    f(r.pipeline.roles.web), f(r.pipeline.roles.worker), f(r.pipeline.roles.Postgres), f(r.pipeline.roles.Redis), `**${f(r.pipeline.totalMs)}**`,
  ]);
  const load = os.loadavg().map((x) => x.toFixed(1)).join(' / ');
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    // not a git checkout
  }
  return [
    `Scaling run ${new Date().toISOString()}, commit ${commit}, ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown'}), ` +
      `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.version}, runtime ${settings.runtime}, ` +
      `${settings.intakeOrders} intake / ${settings.pipelineOrders} pipeline orders, ${settings.connections} connections, load average at the end ${load}.`,
    '',
    [head, head.map(() => '---'), ...rows].map((c) => `| ${c.join(' | ')} |`).join('\n'),
  ].join('\n');
}

const settings = loadSettings(process.env, {
  intakeOrders: Number(process.env.BENCH_INTAKE_ORDERS || 3_000),
  pipelineOrders: Number(process.env.BENCH_PIPELINE_ORDERS || 3_000),
});
try {
  const results: Measured[] = [];
  for (const layout of layouts(process.env.BENCH_SCALING || '1x1,2x1,1x2,2x2')) {
    log(`${layout.web} web x ${layout.worker} worker processes`);
    results.push(await measure(settings, layout));
  }
  process.stdout.write(`\n${report(settings, results)}\n`);
  process.exit(0);
} catch (error) {
  process.stderr.write(`bench:scaling failed: ${(error as Error).stack ?? error}\n`);
  process.exit(1);
}
