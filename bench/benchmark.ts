import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { backlogScenario, drain } from './backlog.js';
import { flowLabel } from './buyer.js';
import { flashSaleScenario, type FlashOutcome } from './flash-sale.js';
import { cpuTable } from './cpu.js';
import { intakeScenario } from './intake.js';
import { memoryScenario } from './memory.js';
import { pipelineScenario, rawPipeline } from './pipeline.js';
import { ROOT } from './processes.js';
import { int, rate, render, writeReport, type Row, type RunInfo } from './report.js';
import type { BenchSettings } from './settings.js';
import { startBenchSystem, type BenchSystem } from './system.js';

export interface BenchResult {
  rows: Row[];
  flash: FlashOutcome;
  markdown: string;
  file: string;
  /** CPU per order of the pipeline by role (bench/cpu.ts), as a markdown table. */
  cpuTable: string;
}

const sh = (cmd: string, args: string[]) => {
  try {
    return execFileSync(cmd, args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '?';
  }
};

async function runInfo(sys: BenchSystem, settings: BenchSettings, seconds: number): Promise<RunInfo> {
  const redis = /^redis_version:(\S+)/m.exec(await sys.redis.info('server'))?.[1] ?? '?';
  const { rows: [pgv] } = await sys.pool.query<{ server_version: string }>('SHOW server_version');
  const bullmq = JSON.parse(readFileSync(path.join(ROOT, 'node_modules/bullmq/package.json'), 'utf8')).version;
  const dirty = sh('git', ['status', '--porcelain']) !== '';
  const overrides = Object.entries(process.env).filter(([k]) => k.startsWith('BENCH_') && !k.endsWith('_URL') && k !== 'BENCH_COMMIT').map(([k, v]) => `${k}=${v}`);
  const s = settings.system;
  return {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    machine: `nproc ${sh('nproc', [])}, ${(os.totalmem() / 1024 ** 3).toFixed(1)} GiB memory, ${os.cpus()[0]?.model ?? '?'}, ${os.platform()} ${os.release()}`,
    versions: `Node ${process.version}, Redis ${redis}, PostgreSQL ${pgv!.server_version}, BullMQ ${bullmq}`,
    command: [...overrides, 'npm run bench'].join(' '),
    commit: process.env.BENCH_COMMIT ?? `${sh('git', ['rev-parse', '--short', 'HEAD'])}${dirty ? ' (plus uncommitted changes in the working tree)' : ''}`,
    settings: [
      `scale ${settings.scale} (${Math.round(seconds)} s)`,
      `web, worker and the sandbox provider (bin/sandbox.ts, SANDBOX_BASE_URL) as separate processes (${settings.runtime === 'tsx' ? 'node --import tsx bin/*.ts' : 'node dist/bin/*.js'})`,
      `DB_POOL_MAX=${s.DB_POOL_MAX}`, `WORKER_CONCURRENCY=${s.WORKER_CONCURRENCY ?? 'defaults (placement 64, capture 32, refund 8, tracking 4, webhook 8)'}`, `RETRY_BASE_DELAY_MS=${s.RETRY_BASE_DELAY_MS}`,
      `PAYMENT_RETRY_BASE_MS=${s.PAYMENT_RETRY_BASE_MS}`, `SWEEP_EVERY_MS=${s.SWEEP_EVERY_MS}`, `SWEEP_STALE_AFTER_MS=${s.SWEEP_STALE_AFTER_MS}`, `SHOP_RATE_LIMIT_PER_SECOND=${s.SHOP_RATE_LIMIT_PER_SECOND} (off)`,
      `SANDBOX=1 (payment ${flowLabel(settings)})`, `LOG_LEVEL=${s.LOG_LEVEL}`, `NODE_ENV=${s.NODE_ENV}`,
      `${settings.connections} HTTP connections`, `${settings.skus} SKUs`,
    ],
    notes: [],
    sections: [],
  };
}

/**
 * The whole benchmark, in an order that needs each process only when it is measured: intake with the web
 * process alone; the raw worker baseline; a worker started (it drains the intake's orders), the pipeline
 * and the flash sale; the backlogs (queued with no worker, then drained); memory last.
 */
export async function runBenchmark(settings: BenchSettings, log: (line: string) => void = () => undefined): Promise<BenchResult> {
  const t0 = performance.now();
  const loadBefore = os.loadavg()[0]!;
  const sys = await startBenchSystem(settings);
  try {
    log(`system up at ${sys.base} (database ${sys.databaseUrl.split('/').pop()}, queue prefix ${sys.prefix})`);
    const intake = await intakeScenario(sys, settings);
    log(`intake: ${int(intake.load.accepted)} accepted in ${intake.load.seconds.toFixed(1)} s; raw add ${rate(intake.raw.perSecond, 'adds/s')}`);
    const raw = await rawPipeline(sys, settings, settings.pipelineOrders);
    log(`raw worker: ${rate(raw.perSecond, 'jobs/s')}`);
    const intakeDrain = await drain(sys, settings, intake.shop, intake.load.accepted, 0); // leaves the worker running
    log(`intake orders drained at ${rate(intakeDrain.toPaid)}`);
    const pipeline = await pipelineScenario(sys, settings, raw);
    log(`pipeline: ${pipeline.rows[0]!.orderworks}; CPU per order ${pipeline.rows.find((r) => r.measure.startsWith('CPU per order'))!.orderworks}`);
    const flash = await flashSaleScenario(sys, settings);
    log(`flash sale: ${flash.rows[0]!.orderworks}, ${flash.rows[1]!.orderworks}`);
    const backlog = await backlogScenario(sys, settings);
    log(`backlog: ${rate(backlog.small.toPaid)} at ${int(backlog.small.orders)}, ${rate(backlog.large.toPaid)} at ${int(backlog.large.orders)}`);
    const memory = await memoryScenario(sys, { rawWorkerPeak: raw.peakRss });
    const rows = [
      ...intake.rows,
      ...pipeline.rows,
      ...flash.rows,
      ...backlog.rows,
      {
        scenario: '4 backlog', measure: `drain of the intake's ${int(intakeDrain.orders)} orders (worker cold start)`,
        orderworks: rate(intakeDrain.toPaid), baseline: '', ratio: null, target: '', met: null,
      },
      ...memory,
    ];
    const info = await runInfo(sys, settings, (performance.now() - t0) / 1000);
    info.notes.push(...notes(sys), `Load average (1 min) of the machine: ${loadBefore.toFixed(1)} at the start, ${os.loadavg()[0]!.toFixed(1)} at the end (other work on a shared machine moves every figure; the ratios less).`);
    const cpu = cpuTable(pipeline.cpu, settings.pipelineOrders);
    info.sections.push(`#### CPU per order by role, pipeline of ${int(settings.pipelineOrders)} orders (POST to \`paid\`)\n\n${cpu}\n\n${CPU_NOTE}`);
    const markdown = render(rows, info);
    writeReport(settings.output, markdown);
    return { rows, flash: flash.outcome, markdown, file: settings.output, cpuTable: cpu };
  } catch (error) {
    const last = sys.children().map((c) => `last lines of ${c.name}:\n${c.tail.join('\n') || '(none)'}`);
    throw new Error(`${(error as Error).message}\n${last.join('\n')}`, { cause: error });
  } finally {
    await sys.close();
  }
}

const CPU_NOTE = [
  'utime + stime from `/proc/<pid>/stat` of each process over the pipeline (first POST to the poll that sees the last order `paid`).',
  'Postgres: the backends of the run\'s database, put down to web, worker, sandbox or bench by their `application_name`, read every 200 ms',
  '(a backend that exits loses at most its last 200 ms; the pools close connections only after 10 s idle). Redis is the whole server',
  '(shared with whatever else uses it). The sandbox provider (payments and carrier) runs in a process of its own and is not counted in',
  'orderworks\' total; neither are the bench itself nor Postgres\'s shared server processes.',
].join(' ');

function notes(sys: BenchSystem): string[] {
  const lines = sys.logLines();
  return [
    'Rates are measured from the first request to the poll of Postgres that sees the last order settle; backlog drains start at the first order leaving `received` (the worker boot is not counted).',
    'Every baseline runs in the same run against the same Redis and Postgres; ratio = orderworks / baseline.',
    `Log lines written at LOG_LEVEL=warn (warnings, errors): web ${lines.web}, worker ${lines.worker}, sandbox ${sys.sandbox.lines}.`,
  ];
}
