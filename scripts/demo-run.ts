import type { DemoOptions } from './demo-options.js';
import { openDemoShop, payAsBuyer, submitOrder, type DemoShop } from './demo-shop.js';
import { OrderTracker, type Counts } from './demo-tracker.js';

export interface DemoSummary {
  seconds: number;
  counts: Counts;
  /** Submissions that never got a 202 (after retries of 429/503/network errors). */
  refused: number;
  /** Why orders failed: "rejected: out_of_stock" -> how many. */
  reasons: Record<string, number>;
  /** Wallet QR orders whose buyer paid on the provider's checkout page. */
  paidByBuyers: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
/** Submissions in flight at once: enough for the chosen rate against a slow intake, without opening sockets unbounded. */
const MAX_CONCURRENT = 64;

/**
 * A simulated upstream shop against a running orderworks: stocks products, submits `count` orders at `rate`
 * per second, has the buyers of its wallet QR orders pay on the provider's checkout page, ships every paid order with the sandbox carrier, and prints one progress line a second. It
 * stops submitting after `count` orders and stops altogether once every order is final or `seconds` have passed.
 */
export async function runDemo(options: DemoOptions, print: (line: string) => void = console.log): Promise<DemoSummary> {
  const shop = await openDemoShop(options);
  print(`demo ${shop.run}: ${options.count} orders at ${options.rate}/s against ${options.url} (at most ${options.seconds}s); ` +
    `hot SKU ${shop.hotSku} has ${shop.hotStock} in stock`);
  const tracker = new OrderTracker(shop.call);
  const t0 = Date.now();
  const deadline = t0 + options.seconds * 1000;
  const state = { refused: 0, submitting: true, parcels: 0, shipped: new Set<string>(), paidByBuyer: new Set<string>() };

  const submissions = submitAll(shop, options, deadline, t0, tracker, state).finally(() => (state.submitting = false));
  // The clock prints; the refresh runs beside it, so a slow system makes the figures lag, not the lines.
  let refreshing: Promise<void> | undefined;
  let failure: unknown;
  const refresh = () =>
    (refreshing ??= (async () => {
      await tracker.refresh();
      await payWaiting(options.url, tracker, state);
      await shipPaid(shop, tracker, state);
    })().catch((e) => void (failure = e)).finally(() => (refreshing = undefined)));
  for (let next = t0 + 1000; ; next += 1000) {
    await sleep(next - Date.now());
    await Promise.race([refresh(), sleep(next + 900 - Date.now())]);
    if (failure) throw failure;
    print(progressLine((Date.now() - t0) / 1000, tracker.counts()));
    if (Date.now() >= deadline || (!state.submitting && !refreshing && tracker.allFinal())) break;
  }
  state.submitting = false;
  await Promise.all([submissions, refreshing]);

  const summary: DemoSummary = {
    seconds: (Date.now() - t0) / 1000, counts: tracker.counts(), refused: state.refused, reasons: Object.fromEntries(tracker.reasons), paidByBuyers: state.paidByBuyer.size,
  };
  for (const line of summaryLines(summary)) print(line);
  return summary;
}

async function submitAll(shop: DemoShop, options: DemoOptions, deadline: number, t0: number, tracker: OrderTracker, state: { refused: number; submitting: boolean }) {
  const pending = new Set<Promise<void>>();
  for (let n = 1; n <= options.count && state.submitting; n++) {
    const due = t0 + ((n - 1) / options.rate) * 1000;
    if (due >= deadline) break;
    await sleep(due - Date.now());
    const p = submitOrder(shop, n).then((r) => void ('id' in r ? tracker.accepted(r.id, r.status) : state.refused++));
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

/** Ships each paid order once, as a warehouse would; a failed call is tried again at the next tick. */
async function shipPaid(shop: DemoShop, tracker: OrderTracker, state: { parcels: number; shipped: Set<string> }) {
  const due = tracker.withStatus('paid').filter((id) => !state.shipped.has(id));
  for (let i = 0; i < due.length; i += 16) {
    await Promise.all(due.slice(i, i + 16).map(async (id) => {
      const trackingNumber = `SBX-${shop.run.toUpperCase()}-${++state.parcels}`;
      const r = await shop.call('POST', `/v1/orders/${id}/shipments`, { carrier: 'sandbox', trackingNumber }).catch(() => undefined);
      if (r && (r.status === 200 || r.status === 201 || r.status === 409)) state.shipped.add(id);
    }));
  }
}

const pad = (n: number, w = 4) => String(n).padStart(w);

export function progressLine(elapsed: number, c: Counts): string {
  return `${pad(Math.floor(elapsed), 4)}s  accepted ${pad(c.accepted)}  placed ${pad(c.placed)}  paid ${pad(c.paid)}  ` +
    `shipped ${pad(c.shipped)}  delivered ${pad(c.delivered)}  failed ${pad(c.rejected + c.paymentFailed)}  in flight ${pad(c.inFlight)}`;
}

export function summaryLines(s: DemoSummary): string[] {
  const c = s.counts;
  const reasons = Object.entries(s.reasons).sort((a, b) => b[1] - a[1]).map(([why, n]) => `${why} ${n}`).join(', ');
  const lines = [
    `summary after ${s.seconds.toFixed(1)}s: accepted ${c.accepted} = ${c.placed} placed + ${c.paid} paid + ${c.shipped} shipped + ` +
      `${c.delivered} delivered + ${c.rejected + c.paymentFailed} failed + ${c.inFlight} in flight${c.other ? ` + ${c.other} cancelled/refunded` : ''}` +
      `; ${s.refused} submissions refused`,
    `failed: ${c.rejected} rejected, ${c.paymentFailed} payment_failed${reasons ? ` (${reasons})` : ''}`,
    `buyers: ${s.paidByBuyers} wallet QR orders paid by their buyers on the provider's checkout page; the rest paid with tokens`,
  ];
  const open = c.inFlight + c.placed + c.paid + c.shipped;
  if (open > 0) {
    lines.push(`note: ${open} orders had not ended when time ran out. Give the demo more --seconds, or start orderworks with ` +
      'PAYMENT_RETRY_BASE_MS=2000 TRACKING_REFRESH_EVERY_MS=2000 CARRIER_CALLS_PER_SECOND=100 (payment backoff, parcel steps, carrier rate)');
  }
  return lines;
}
