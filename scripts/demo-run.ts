import { trackingNumberOf } from './demo-mix.js';
import type { DemoOptions } from './demo-options.js';
import { progressLine, summaryLines, type DemoSummary } from './demo-report.js';
import { ReturnDesk } from './demo-returns.js';
import { openDemoShop, payAsBuyer, submitOrder, type DemoShop } from './demo-shop.js';
import { OrderTracker } from './demo-tracker.js';

export type { DemoSummary } from './demo-report.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
/** Submissions in flight at once: enough for the chosen rate against a slow intake, without opening sockets unbounded. */
const MAX_CONCURRENT = 64;

/**
 * A simulated upstream shop against a running orderworks: stocks products, submits `count` orders at `rate`
 * per second, has the buyers of its wallet QR orders pay on the provider's checkout page, ships every paid
 * order with the sandbox carrier (some parcels retried, late, lost or returned to the sender: demo-mix.ts), has
 * some buyers send goods back once delivered, and prints one progress line a second. It stops submitting after
 * `count` orders, and stops altogether once `seconds` have passed or nothing more will happen: every order has
 * ended or waits only on a parcel that will not move on (late and reported delayed, lost, returned to the
 * sender), and no return is due or open (requested, or its refund pending).
 */
export async function runDemo(options: DemoOptions, print: (line: string) => void = console.log): Promise<DemoSummary> {
  const shop = await openDemoShop(options);
  print(`demo ${shop.run}: ${options.count} orders at ${options.rate}/s against ${options.url} (at most ${options.seconds}s); ` +
    `hot SKU ${shop.hotSku} has ${shop.hotStock} in stock`);
  const tracker = new OrderTracker(shop.call);
  const desk = new ReturnDesk(shop, tracker);
  const t0 = Date.now();
  const deadline = t0 + options.seconds * 1000;
  const state = { refused: 0, submitting: true, parcels: 0, shipped: new Set<string>(), paidByBuyer: new Set<string>() };
  const summarise = (): DemoSummary => ({
    seconds: (Date.now() - t0) / 1000, counts: tracker.counts(), parcels: { ...tracker.parcelCounts(), sent: state.parcels }, stuck: tracker.stuckCount(),
    returns: desk.counts(), refused: state.refused, reasons: Object.fromEntries(tracker.reasons), paidByBuyers: state.paidByBuyer.size,
  });

  const submissions = submitAll(shop, options, deadline, t0, tracker, state).finally(() => (state.submitting = false));
  // The clock prints; the refresh runs beside it, so a slow system makes the figures lag, not the lines.
  let refreshing: Promise<void> | undefined;
  let failure: unknown;
  const refresh = () =>
    (refreshing ??= (async () => {
      await tracker.refresh();
      await payWaiting(options.url, tracker, state);
      await shipPaid(shop, tracker, state);
      await desk.refresh();
    })().catch((e) => void (failure = e)).finally(() => (refreshing = undefined)));
  for (let next = t0 + 1000; ; next += 1000) {
    await sleep(next - Date.now());
    await Promise.race([refresh(), sleep(next + 900 - Date.now())]);
    if (failure) throw failure;
    print(progressLine(summarise()));
    if (Date.now() >= deadline || (!state.submitting && !refreshing && tracker.allSettled() && desk.idle())) break;
  }
  state.submitting = false;
  await Promise.all([submissions, refreshing]);

  const summary = summarise();
  for (const line of summaryLines(summary)) print(line);
  return summary;
}

async function submitAll(shop: DemoShop, options: DemoOptions, deadline: number, t0: number, tracker: OrderTracker, state: { refused: number; submitting: boolean }) {
  const pending = new Set<Promise<void>>();
  for (let n = 1; n <= options.count && state.submitting; n++) {
    const due = t0 + ((n - 1) / options.rate) * 1000;
    if (due >= deadline) break;
    await sleep(due - Date.now());
    const p = submitOrder(shop, n).then((r) => void ('id' in r ? tracker.accepted(r.id, r.status, n) : state.refused++));
    pending.add(p);
    void p.finally(() => pending.delete(p));
    if (pending.size >= MAX_CONCURRENT) await Promise.race(pending);
  }
  await Promise.all(pending);
}

/**
 * The buyers of the orders that wait for them (wallet QR checkouts): each opens its order's QR code and pays on
 * the provider's page, once; one that could not is tried again at the next tick.
 */
async function payWaiting(base: string, tracker: OrderTracker, state: { paidByBuyer: Set<string> }) {
  const due = [...tracker.actions].filter(([id]) => !state.paidByBuyer.has(id));
  for (let i = 0; i < due.length; i += 16) {
    await Promise.all(due.slice(i, i + 16).map(async ([id, action]) => {
      if (await payAsBuyer(base, action).catch(() => false)) state.paidByBuyer.add(id);
    }));
  }
}

/**
 * Ships each paid order once, as a warehouse would, under its number's tracking number (demo-mix.ts); a failed
 * call is tried again at the next tick.
 */
async function shipPaid(shop: DemoShop, tracker: OrderTracker, state: { parcels: number; shipped: Set<string> }) {
  const due = tracker.withStatus('paid').filter((id) => !state.shipped.has(id));
  for (let i = 0; i < due.length; i += 16) {
    await Promise.all(due.slice(i, i + 16).map(async (id) => {
      const trackingNumber = trackingNumberOf(shop.run, tracker.numbers.get(id)!);
      const r = await shop.call('POST', `/v1/orders/${id}/shipments`, { carrier: 'sandbox', trackingNumber }).catch(() => undefined);
      if (r?.status === 200 || r?.status === 201) state.parcels++;
      if (r && (r.status === 200 || r.status === 201 || r.status === 409)) state.shipped.add(id);
    }));
  }
}
