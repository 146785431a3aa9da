import cluster from 'node:cluster';

/**
 * N web processes behind one port, for `npm run bench:scaling`: node's cluster primary accepts connections and
 * hands them round-robin to N copies of the web entry (BENCH_WEB_ENTRY), as a load balancer in front of N
 * `web` processes would. The primary's own CPU (accepting and handing over keep-alive connections) is counted
 * with web's. It forwards SIGTERM and exits once every copy has.
 */
const entry = process.env.BENCH_WEB_ENTRY;
const count = Number(process.env.BENCH_WEB_PROCESSES);
if (!entry || !Number.isInteger(count) || count < 1) {
  process.stderr.write('web-cluster: BENCH_WEB_ENTRY and BENCH_WEB_PROCESSES (a positive integer) are required\n');
  process.exit(2);
}
cluster.setupPrimary({ exec: entry, execArgv: process.execArgv });
for (let i = 0; i < count; i++) cluster.fork();
let left = count;
let worst = 0;
cluster.on('exit', (_worker, code) => {
  worst = Math.max(worst, code ?? 1);
  if (--left === 0) process.exit(worst);
});
process.on('SIGTERM', () => {
  for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
});
