import { parseOptions } from './chaos/options.js';
import { formatReport } from './chaos/report.js';
import { removeRunDir, runChaos } from './chaos/run.js';

/**
 * `npm run chaos`: kills workers, restarts Redis, takes Postgres away and makes providers and the carrier
 * misbehave while a simulated shop sends orders; then checks the promises of docs/api.md and prints them.
 * Sizes: CHAOS_ORDERS, CHAOS_KILLS, CHAOS_SECONDS... or --orders=... (see scripts/chaos/options.ts).
 * Exits 1 when any invariant fails (its data and logs are kept), 2 when the run itself could not be set up.
 */
let options;
try {
  options = parseOptions(process.env, process.argv.slice(2));
} catch (error) {
  process.stderr.write(`chaos: ${(error as Error).message}\n`);
  process.exit(2);
}
try {
  const report = await runChaos(options);
  process.stdout.write(`\n${formatReport(report)}\n`);
  if (report.pass && !options.keep) removeRunDir(report.dir);
  process.exit(report.pass ? 0 : 1);
} catch (error) {
  process.stderr.write(`chaos: the run could not complete: ${(error as Error).stack ?? error}\n`);
  process.exit(2);
}
