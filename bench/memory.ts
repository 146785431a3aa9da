import type { Redis } from 'ioredis';
import { bullPrefix } from '../src/queue/redis.js';
import { mb, type Row } from './report.js';
import type { BenchSystem } from './system.js';

function field(info: string, name: string): number {
  const m = new RegExp(`^${name}:(\\d+)`, 'm').exec(info);
  return m ? Number(m[1]) : 0;
}

/** Bytes held by this run's keys (MEMORY USAGE of each key under its prefix), and how many keys. */
async function prefixUsage(redis: Redis, prefix: string): Promise<{ bytes: number; keys: number }> {
  let cursor = '0';
  let bytes = 0;
  let keys = 0;
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${bullPrefix(prefix)}:*`, 'COUNT', 1000);
    cursor = next;
    if (!batch.length) continue;
    const pipe = redis.pipeline();
    for (const k of batch) pipe.memory('USAGE', k);
    for (const [, v] of (await pipe.exec()) ?? []) bytes += Number(v ?? 0);
    keys += batch.length;
  } while (cursor !== '0');
  return { bytes, keys };
}

/** Peak RSS per process (VmHWM, read before the process stops) and Redis memory after the run. */
export async function memoryScenario(sys: BenchSystem, extra: { rawWorkerPeak: number }): Promise<Row[]> {
  const peaks = sys.peaks();
  const info = await sys.redis.info('memory');
  const ours = await prefixUsage(sys.redis, sys.prefix);
  const bench = process.resourceUsage().maxRSS * 1024;
  const row = (measure: string, orderworks: string, baseline = '', target = '', met: boolean | null = null): Row =>
    ({ scenario: '5 memory', measure, orderworks, baseline, ratio: null, target, met });
  return [
    row('peak RSS, worker process (max over its restarts)', mb(peaks.worker), `${mb(extra.rawWorkerPeak)} (raw BullMQ worker)`, '< 250 MB', peaks.worker > 0 && peaks.worker < 250 * 1024 * 1024),
    row('peak RSS, web process', mb(peaks.web)),
    row('peak RSS, bench process (load generator, baselines)', mb(bench)),
    row(
      'Redis used_memory after the run (whole server) / peak',
      `${mb(field(info, 'used_memory'))} / ${mb(field(info, 'used_memory_peak'))}`,
      `this run's keys: ${mb(ours.bytes)} in ${ours.keys.toLocaleString('en-US')} keys`,
    ),
  ];
}
