import { runBenchmark } from './benchmark.js';
import { flowLabel } from './buyer.js';
import { table } from './report.js';
import { loadSettings } from './settings.js';

/**
 * `npm run bench`: orderworks against raw BullMQ and raw Postgres in one run (issue 6). BENCH_SCALE=tiny
 * for a run of seconds; see bench/settings.ts for every BENCH_* variable.
 */
const settings = loadSettings(process.env);
const log = (line: string) => process.stderr.write(`bench: ${line}\n`);
log(`scale ${settings.scale}, payment ${flowLabel(settings)}, report to ${settings.output}`);
try {
  const result = await runBenchmark(settings, log);
  process.stdout.write(`\n${table(result.rows)}\n\nCPU per order by role (pipeline):\n\n${result.cpuTable}\n\nwritten to ${result.file}\n`);
  process.exit(result.flash.noOversell ? 0 : 1);
} catch (error) {
  process.stderr.write(`bench failed: ${(error as Error).stack ?? error}\n`);
  process.exit(1);
}
