import { describe, expect, it } from 'vitest';
import { FULL } from '../../scripts/chaos/options.js';
import { formatReport } from '../../scripts/chaos/report.js';
import { removeRunDir, runChaos } from '../../scripts/chaos/run.js';

/**
 * `npm run chaos` at a size that fits `npm test`: its own Redis (AOF) and embedded Postgres, one web and two
 * worker processes, ~150 orders with every method and token script, two worker SIGKILLs, one Redis restart,
 * one Postgres outage, provider and carrier fault windows, Alipay down for a while; a fifth of the orders are wallet
 * QR checkouts whose buyers pay meanwhile (some the wrong amount), their notifications duplicated and replayed out
 * of order; then every invariant of the full run.
 * No timing assertions: only what must hold however slow the machine is. The run waits for quiescence as long
 * as anything still moves and gives up after a minute without any change (a stall); a stall check compares an
 * order with the rest's progress, not with the clock. The hard cap and the test's timeout are only backstops
 * against a hang, far above a quiet machine's two to three minutes.
 */
describe('chaos (small)', () => {
  it('keeps every promise through worker kills, a Redis restart, a Postgres outage and provider faults', async () => {
    const report = await runChaos({
      ...FULL,
      orders: 150,
      rate: 6,
      kills: 2,
      redisRestarts: 1,
      postgresOutages: 1,
      postgresDownMs: 3_000,
      redisDownMs: 2_000,
      faultWindowMs: 3_000,
      // The full run's "Alipay down for a minute" (about a third of its load), at this run's scale.
      providerDownMs: 8_000,
      seconds: 900,
      quietSeconds: 60,
      // A busy machine answers slowly; the outage check is about what the answer is (202, or 503 with Retry-After).
      httpTimeoutSeconds: 60,
      providerTimeoutMs: 10_000,
      verbose: false,
      seed: Number(process.env.CHAOS_SEED ?? Date.now() % 1_000_000),
    });
    const text = formatReport(report);
    if (report.pass) removeRunDir(report.dir);
    else console.log(text);
    // The disruptions happened (a run where nothing was broken proves nothing)...
    expect(report.timeline.kills).toBe(2);
    expect(report.timeline.redisRestarts).toBe(1);
    expect(report.timeline.postgresOutages).toBe(1);
    expect(report.shop.accepted).toBeGreaterThanOrEqual(150);
    expect(report.timeline.faultWindows).toContain('alipay down (error500) 8s');
    // Wallet QR buyers paid during all that, some the wrong amount, and notifications came twice and out of order.
    expect(report.wallets.paidByBuyer).toBeGreaterThan(20);
    expect(report.wallets.wrongAmount).toBeGreaterThan(0);
    expect(Object.values(report.notify.duplicated).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    expect(Object.values(report.notify.replayed).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    // ...and every invariant held through them.
    expect(report.checks.filter((c) => !c.pass).map((c) => `${c.name}: ${c.detail}\n  ${c.evidence.slice(0, 3).join('\n  ')}`)).toEqual([]);
  }, 960_000);
});
