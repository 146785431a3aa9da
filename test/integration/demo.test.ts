import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DemoError } from '../../scripts/demo-api.js';
import { parseDemoOptions } from '../../scripts/demo-options.js';
import { runDemo } from '../../scripts/demo-run.js';
import { ADMIN, startSystem, type TestSystem } from '../support/system.js';
import { freePort } from '../../src/local/local-services.js';
import { client } from '../support/client.js';

let system: TestSystem;

beforeAll(async () => {
  system = await startSystem({ env: { TRACKING_REFRESH_EVERY_MS: '300' } });
}, 60_000);
afterAll(async () => system?.close());

const SUMMARY = /^summary after [\d.]+s: accepted (\d+) = (\d+) placed \+ (\d+) paid \+ (\d+) shipped \+ (\d+) delivered \+ (\d+) refunded \+ (\d+) failed \+ (\d+) in flight(?: \+ (\d+) cancelled)?; (\d+) submissions refused$/;
const PARCELS = /^parcels: (\d+) sent = (\d+) delivered \+ (\d+) returned to sender \+ (\d+) lost \+ (\d+) on the way; (\d+) delivered after a failed attempt, (\d+) reported delayed$/;
const RETURNS = /^returns: (\d+) requested = (\d+) received \+ (\d+) open \((\d+) came back by parcel, (\d+) received by hand\); (\d+) refunds succeeded, CNY (\d+)\.(\d\d) refunded$/;
const numbers = (re: RegExp, line: string) => re.exec(line)!.slice(1).map((n) => Number(n ?? 0));

describe('npm run demo', () => {
  it('submits, ships, delays and takes back its orders, printing a line a second and a summary that adds up', async () => {
    const lines: string[] = [];
    // It ends by itself once nothing more will happen (about 15 s here): every order has ended or waits on a parcel
    // that will not move on, and every return is received and refunded. The time limit only guards a loaded machine.
    const options = { url: system.base, admin: ADMIN, rate: 20, count: 20, seconds: 60 };
    const summary = await runDemo(options, (l) => lines.push(l));
    const output = lines.join('\n');
    expect(lines[0]).toMatch(/^demo \w+: 20 orders at 20\/s .* has 1 in stock$/);

    const progress = lines.filter((l) => /^\s*\d+s {2}accepted/.test(l));
    expect(progress.length).toBeGreaterThanOrEqual(2);
    expect(progress.length).toBeLessThanOrEqual(61);
    expect(progress.at(-1)).toMatch(/ {2}\| {2}parcels delayed +\d+ {2}back to sender +\d+ {2}lost +\d+ {2}\| {2}returns +\d+ {2}received +\d+ {2}refunds CNY \d+\.\d\d$/);
    const final = lines.find((l) => SUMMARY.test(l));
    expect(final, output).toBeDefined();
    const [accepted, placed, paid, shipped, delivered, refunded, failed, inFlight, cancelled, refused] = numbers(SUMMARY, final!);
    expect(accepted! + refused!).toBe(20);
    expect(refused).toBe(0);
    expect(placed! + paid! + shipped! + delivered! + refunded! + failed! + inFlight! + cancelled!).toBe(accepted);
    // It stopped by itself: nothing was left open, only orders whose parcels will not move on stay shipped.
    expect(output).not.toMatch(/had not ended when time ran out/);
    expect(placed! + paid! + inFlight!, output).toBe(0);
    expect(shipped, output).toBe(summary.stuck);
    expect(delivered, output).toBeGreaterThan(0);
    // The script's mix: declines end payment_failed; the hot SKU sells out, so some are rejected out_of_stock.
    expect(summary.counts.paymentFailed).toBeGreaterThan(0);
    expect(summary.reasons).toHaveProperty(['payment_failed: payment_declined']);
    expect(summary.reasons).toHaveProperty(['rejected: out_of_stock']);
    // Wallet QR orders were paid by their buyers on the provider's checkout page.
    expect(summary.paidByBuyers).toBeGreaterThan(0);
    expect(lines).toContain(`buyers: ${summary.paidByBuyers} wallet QR orders paid by their buyers on the provider's checkout page; the rest paid with tokens`);
    expect(summary.counts).toMatchObject({ accepted, delivered, refunded });

    // Parcels: every paid order shipped; order 10 and 20 retried (every 5th), 7 and 14 late (every 7th), 11 returned
    // to the sender (every 11th). A late parcel is reported delayed once its carrier's estimate, two refreshes after
    // pickup, has passed: the demo waits for that, so it is counted here however slow the machine.
    const parcelLine = lines.find((l) => PARCELS.test(l));
    expect(parcelLine, output).toBeDefined();
    const [sent, parcelsDelivered, backToSender, lost, onTheWay, afterRetry, delayed] = numbers(PARCELS, parcelLine!);
    expect(parcelsDelivered! + backToSender! + lost! + onTheWay!).toBe(sent);
    expect(sent).toBe(shipped! + delivered! + refunded!);
    expect(afterRetry, output).toBeGreaterThanOrEqual(1);
    expect(delayed, output).toBeGreaterThanOrEqual(1);
    expect(backToSender, output).toBeGreaterThanOrEqual(1);
    expect(onTheWay).toBe(delayed);
    expect(summary.stuck).toBe(delayed! + backToSender! + lost!);
    expect(summary.parcels).toMatchObject({ sent, delivered: parcelsDelivered, returnedToSender: backToSender, deliveredAfterRetry: afterRetry, delayed });

    // Returns: every 3rd delivered order sent one unit back, by parcel or (every 12th) by hand; all received and refunded.
    const returnLine = lines.find((l) => RETURNS.test(l));
    expect(returnLine, output).toBeDefined();
    const [requested, received, open, byParcel, byHand, refundsSucceeded, units, cents] = numbers(RETURNS, returnLine!);
    expect(received! + open!).toBe(requested);
    expect(open).toBe(0);
    expect(byParcel! + byHand!).toBe(received);
    expect(byParcel, output).toBeGreaterThanOrEqual(1);
    expect(byHand, output).toBeGreaterThanOrEqual(1);
    expect(refundsSucceeded).toBe(received);
    expect(units! * 100 + cents!).toBe(summary.returns.refundedMinor);
    expect(summary.returns.refundedMinor).toBeGreaterThan(0);

    // Its bookkeeping agrees with the server's own.
    const run = /^demo (\w+):/.exec(lines[0]!)![1];
    const mine = `demo-${run}-%`;
    const rows = await system.web.db.rows<{ status: string; n: number }>(
      `SELECT status, count(*)::int AS n FROM orders WHERE external_id LIKE $1 GROUP BY status`, [mine]);
    const server = (s: string) => rows.find((r) => r.status === s)?.n ?? 0;
    expect(rows.reduce((sum, r) => sum + r.n, 0)).toBe(accepted);
    const c = summary.counts;
    expect({ shipped: server('shipped'), delivered: server('delivered'), refunded: server('refunded'), rejected: server('rejected'), payment_failed: server('payment_failed') })
      .toEqual({ shipped, delivered, refunded, rejected: c.rejected, payment_failed: c.paymentFailed });
    const [parcels] = await system.web.db.rows<{ n: number; delayed: number }>(
      `SELECT count(*)::int AS n, count(*) FILTER (WHERE s.delayed_since IS NOT NULL)::int AS delayed
         FROM shipments s JOIN orders o ON o.id = s.order_id
        WHERE o.external_id LIKE $1 AND s.carrier = 'sandbox' AND s.return_id IS NULL`, [mine]);
    expect(parcels).toEqual({ n: sent, delayed });
    const [money] = await system.web.db.rows<{ minor: number }>(
      `SELECT coalesce(sum(f.amount_minor), 0)::int AS minor FROM returns r JOIN refunds f ON f.id = r.refund_id JOIN orders o ON o.id = r.order_id
        WHERE o.external_id LIKE $1 AND f.status = 'succeeded'`, [mine]);
    expect(money!.minor).toBe(summary.returns.refundedMinor);

    // What the shop sees of them, through the API.
    const operator = client(system.base, { basic: ADMIN });
    const orderOf = async (sql: string) => {
      const [row] = await system.web.db.rows<{ id: string }>(sql, [mine]);
      expect(row, sql).toBeDefined();
      return (await operator('GET', `/v1/admin/orders/${row!.id}`)).json.order;
    };
    const retried = await orderOf(
      `SELECT o.id FROM orders o JOIN shipments s ON s.order_id = o.id WHERE o.external_id LIKE $1 AND s.tracking_number LIKE 'SBX-RETRY-%' AND s.status = 'delivered' LIMIT 1`);
    expect(retried.shipments[0].events.map((e: { status: string }) => e.status)).toEqual(
      ['info_received', 'in_transit', 'out_for_delivery', 'failed_attempt', 'out_for_delivery', 'delivered']);
    expect(['delivered', 'refunded']).toContain(retried.status);
    const late = await orderOf(
      `SELECT o.id FROM orders o JOIN shipments s ON s.order_id = o.id WHERE o.external_id LIKE $1 AND s.tracking_number LIKE 'SBX-LATE-%' LIMIT 1`);
    expect(late).toMatchObject({ status: 'shipped', shipments: [{ status: 'in_transit', delayed: true }] });
    for (const by of ['parcel', 'shop']) {
      const order = await orderOf(
        `SELECT o.id FROM orders o JOIN returns r ON r.order_id = o.id WHERE o.external_id LIKE $1 AND r.received_by = '${by}' LIMIT 1`);
      const [ret] = order.returns;
      expect(ret, by).toMatchObject({ status: 'received', receivedBy: by, restock: true, refund: { status: 'succeeded', amountMinor: ret.amountMinor } });
      expect(ret.parcel === null, by).toBe(by === 'shop');
      expect(order.payment.refundedMinor).toBe(ret.refund.amountMinor);
      expect(order.status).toBe(ret.amountMinor === order.totalMinor ? 'refunded' : 'delivered');
    }
    // The goods went back on the shelf: each product's stock is what was stocked, less what was sold, plus what came back.
    const stock = await system.web.db.rows<{ sku: string; stock: number; expected: number; back: number }>(
      `SELECT p.sku, p.stock,
              ${options.count * 10} - (SELECT coalesce(sum(i.quantity), 0) FROM order_items i JOIN orders o ON o.id = i.order_id
                                        WHERE i.sku = p.sku AND o.shop_id = p.shop_id AND o.stock_state = 'sold')::int
                + (SELECT coalesce(sum(ri.quantity), 0) FROM return_items ri JOIN returns r ON r.id = ri.return_id
                    WHERE ri.product_id = p.id AND r.status = 'received' AND r.restock)::int AS expected,
              (SELECT coalesce(sum(ri.quantity), 0) FROM return_items ri WHERE ri.product_id = p.id)::int AS back
         FROM products p JOIN shops s ON s.id = p.shop_id WHERE s.name = $1 AND p.sku = 'TEA-JASMINE'`, [`Demo shop ${run}`]);
    expect(stock).toHaveLength(1);
    expect(stock[0]!.back).toBeGreaterThan(0);
    expect(stock[0]!.stock).toBe(stock[0]!.expected);
  }, 90_000);

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
