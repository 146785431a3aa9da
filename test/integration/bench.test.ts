import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runBenchmark } from '../../bench/benchmark.js';
import { loadSettings } from '../../bench/settings.js';

/**
 * `npm run bench` at its tiny size, so the harness cannot rot. No timing is asserted: figures on a shared
 * machine drift. What must hold is that every scenario produced its rows, the report was written, and the
 * flash sale sold exactly its stock.
 */
const dir = mkdtempSync(path.join(tmpdir(), 'ow-bench-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('benchmark harness (tiny)', () => {
  // The timeout is a backstop: about a minute on a quiet machine, a few on one shared with other test runs.
  it('prints and writes the table with every row, and the flash sale does not oversell', { timeout: 600_000 }, async () => {
    const output = path.join(dir, 'BENCHMARKS.md');
    const env = {
      ...process.env,
      BENCH_DATABASE_ADMIN_URL: process.env.TEST_DATABASE_ADMIN_URL ?? '',
      BENCH_REDIS_URL: process.env.TEST_REDIS_URL ?? '',
    };
    const result = await runBenchmark(loadSettings(env, { scale: 'tiny', output }));

    const measures = result.rows.map((r) => `${r.scenario}: ${r.measure}`);
    for (const expected of [
      /^1 intake: POST \/v1\/orders answered 202, 64 connections$/,
      /^1 intake: against the naive intake \(Express, the same zod validation, Queue.add, no Postgres\), 64 connections$/,
      /^1 intake: latency p50 \/ p99$/,
      /^1 intake: CPU per order, intake alone/,
      /^2 pipeline: intake latency p50 \/ p99 while the workers run, 64 connections$/,
      /^2 pipeline: CPU per order, POST to `paid`: orderworks \(web \+ worker \+ Postgres \+ Redis\), sandbox provider apart$/,
      /^2 pipeline: 60 orders, first POST to all `paid`$/,
      /^3 flash sale: 60 orders for 1 SKU with 10 in stock/,
      /^3 flash sale: no oversell$/,
      /^4 backlog: drain to `paid` with 60 queued$/,
      /^5 memory: peak RSS, worker process/,
      /^5 memory: peak RSS, web process$/,
      /^5 memory: Redis used_memory/,
    ]) {
      expect(measures.some((m) => expected.test(m)), `${expected} in\n${measures.join('\n')}`).toBe(true);
    }
    // Every rate row has a finite ratio against its baseline and a verdict on its target.
    const targeted = result.rows.filter((r) => r.target && r.ratio !== null);
    expect(targeted.map((r) => r.scenario)).toEqual(['1 intake', '1 intake', '2 pipeline', '3 flash sale', '4 backlog']);
    for (const r of targeted) {
      expect(Number.isFinite(r.ratio) && r.ratio! > 0, `${r.measure}: ratio ${r.ratio}`).toBe(true);
      expect(typeof r.met).toBe('boolean');
    }

    // CPU per order (issue 15): orderworks' total and the sandbox's apart, the naive intake's too, all positive.
    const total = (text: string) => Number(/= ([\d.]+) ms$/.exec(text)?.[1]);
    const cpu = result.rows.find((r) => r.measure.startsWith('CPU per order, POST to'))!;
    expect(cpu.orderworks).toMatch(/^web [\d.]+ \+ worker [\d.]+ \+ Postgres [\d.]+ \+ Redis [\d.]+ = [\d.]+ ms$/);
    expect(cpu.baseline).toMatch(/^sandbox provider: sandbox provider process [\d.]+ .*= [\d.]+ ms$/);
    const intakeCpu = result.rows.find((r) => r.measure.startsWith('CPU per order, intake alone'))!;
    for (const figure of [cpu.orderworks, cpu.baseline, intakeCpu.orderworks, intakeCpu.baseline]) {
      expect(total(figure), figure).toBeGreaterThan(0);
    }
    expect(result.cpuTable).toMatch(/\| \*\*orderworks total \(web \+ worker \+ Postgres \+ Redis\)\*\* \| orderworks \| [\d,]+ \| \*\*[\d.]+\*\* \|/);
    expect(result.cpuTable).toContain('| Postgres backends of worker |');

    expect(result.flash).toMatchObject({ sold: 10, rejectedOutOfStock: 50, stockLeft: 0, noOversell: true, exact: true });

    const written = readFileSync(output, 'utf8');
    expect(written).toContain(result.markdown);
    expect(written).toMatch(/- machine: nproc \d+, [\d.]+ GiB memory/);
    expect(written).toMatch(/- versions: Node v\d+.*Redis \d.*PostgreSQL \d/);
    expect(written).toMatch(/- commit: [0-9a-f]{7}/);
    expect(written).toContain('| 3 flash sale | no oversell | PASS |');
    expect(written).toContain(result.cpuTable);
    for (const m of measures) expect(written).toContain(m.split(': ').slice(1).join(': '));
  });
});
