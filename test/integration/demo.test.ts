import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DemoError } from '../../scripts/demo-api.js';
import { parseDemoOptions } from '../../scripts/demo-options.js';
import { runDemo } from '../../scripts/demo-run.js';
import { ADMIN, startSystem, type TestSystem } from '../support/system.js';
import { freePort } from '../../src/local/local-services.js';

let system: TestSystem;

beforeAll(async () => {
  system = await startSystem({ env: { TRACKING_REFRESH_EVERY_MS: '300' } });
}, 60_000);
afterAll(async () => system?.close());

const SUMMARY = /^summary after [\d.]+s: accepted (\d+) = (\d+) placed \+ (\d+) paid \+ (\d+) shipped \+ (\d+) delivered \+ (\d+) failed \+ (\d+) in flight(?: \+ (\d+) cancelled\/refunded)?; (\d+) submissions refused$/;

describe('npm run demo', () => {
  it('submits, ships and follows its orders, printing a line a second and a summary that adds up', async () => {
    const lines: string[] = [];
    // It ends as soon as every order has ended (about 8 s here); the time limit only guards a loaded machine.
    const options = { url: system.base, admin: ADMIN, rate: 20, count: 20, seconds: 25 };
    const summary = await runDemo(options, (l) => lines.push(l));
    expect(lines[0]).toMatch(/^demo \w+: 20 orders at 20\/s .* has 1 in stock$/);

    const progress = lines.filter((l) => /^\s*\d+s {2}accepted/.test(l));
    expect(progress.length).toBeGreaterThanOrEqual(2);
    expect(progress.length).toBeLessThanOrEqual(26);
    const final = lines.find((l) => SUMMARY.test(l));
    expect(final, lines.join('\n')).toBeDefined();
    const [accepted, placed, paid, shipped, delivered, failed, inFlight, other, refused] = SUMMARY.exec(final!)!.slice(1).map((n) => Number(n ?? 0));
    expect(accepted! + refused!).toBe(20);
    expect(refused).toBe(0);
    expect(placed! + paid! + shipped! + delivered! + failed! + inFlight! + other!).toBe(accepted);
    expect(delivered, lines.join('\n')).toBeGreaterThan(0);
    // The script's mix: declines end payment_failed; the hot SKU sells out, so some are rejected out_of_stock.
    expect(summary.counts.paymentFailed).toBeGreaterThan(0);
    expect(summary.reasons).toHaveProperty(['payment_failed: payment_declined']);
    expect(summary.reasons).toHaveProperty(['rejected: out_of_stock']);
    // Wallet QR orders were paid by their buyers on the provider's checkout page.
    expect(summary.paidByBuyers).toBeGreaterThan(0);
    expect(lines).toContain(`buyers: ${summary.paidByBuyers} wallet QR orders paid by their buyers on the provider's checkout page; the rest paid with tokens`);
    expect(summary.counts).toMatchObject({ accepted, delivered });
    // Its bookkeeping agrees with the server's own. Parcels may still move after its last look, so orders that
    // ended are compared exactly, the others as bounds.
    const run = /^demo (\w+):/.exec(lines[0]!)![1];
    const mine = `demo-${run}-%`;
    const rows = await system.web.db.rows<{ status: string; n: number }>(
      `SELECT status, count(*)::int AS n FROM orders WHERE external_id LIKE $1 GROUP BY status`, [mine]);
    const server = (s: string) => rows.find((r) => r.status === s)?.n ?? 0;
    expect(rows.reduce((sum, r) => sum + r.n, 0)).toBe(accepted);
    const unsettled = placed! + inFlight!;
    for (const [status, counted] of [['rejected', summary.counts.rejected], ['payment_failed', summary.counts.paymentFailed]] as const) {
      expect(server(status), status).toBeGreaterThanOrEqual(counted);
      expect(server(status), status).toBeLessThanOrEqual(counted + unsettled);
    }
    expect(server('delivered')).toBeGreaterThanOrEqual(delivered!);
    const [parcels] = await system.web.db.rows<{ n: number }>(
      `SELECT count(*)::int AS n FROM shipments s JOIN orders o ON o.id = s.order_id WHERE o.external_id LIKE $1 AND s.carrier = 'sandbox'`, [mine]);
    expect(parcels!.n).toBeGreaterThanOrEqual(delivered! + shipped!);
    expect(parcels!.n).toBeLessThanOrEqual(delivered! + shipped! + paid!);
  }, 50_000);

  it('fails with one clear message on wrong credentials or an unreachable URL', async () => {
    await expect(runDemo({ url: system.base, admin: { user: 'ops', password: 'wrong' }, rate: 1, count: 1, seconds: 1 }, () => {})).rejects.toThrow(
      new DemoError(`the admin credentials for user "ops" were refused by ${system.base} (401): pass --admin user:password`),
    );
    const dead = `http://127.0.0.1:${await freePort()}`;
    await expect(runDemo({ url: dead, admin: ADMIN, rate: 1, count: 1, seconds: 1 }, () => {})).rejects.toThrow(`cannot reach ${dead}: ECONNREFUSED`);
  });

  it('takes its options from flags, then the environment, then defaults', () => {
    expect(parseDemoOptions(['--url', 'http://h:1/', '--admin', 'a:b:c', '--rate', '5', '--count', '7'], {}, '/nonexistent')).toEqual({
      url: 'http://h:1', admin: { user: 'a', password: 'b:c' }, rate: 5, count: 7, seconds: 60,
    });
    expect(parseDemoOptions([], { ADMIN_USER: 'u', ADMIN_PASSWORD: 'p', DEMO_SECONDS: '3' }, '/nonexistent')).toMatchObject({
      url: 'http://127.0.0.1:3000', admin: { user: 'u', password: 'p' }, rate: 20, count: 500, seconds: 3,
    });
    expect(() => parseDemoOptions(['--rate', '0'], { ADMIN_USER: 'u', ADMIN_PASSWORD: 'p' }, '/nonexistent')).toThrow('--rate must be a positive number');
    expect(() => parseDemoOptions([], {}, '/nonexistent')).toThrow(/no admin credentials/);
  });
});
