import type pg from 'pg';
import { percentile } from './intake.js';
import { sleep } from './processes.js';
import type { BenchSettings } from './settings.js';
import type { BenchShop } from './shop.js';

/**
 * The buyers of a buyer-driven flow (BENCH_PAYMENT_FLOW=qr): while a scenario waits for its orders, every order
 * whose payment shows `action_required` is paid the way its buyer pays it. The shop reads the order
 * (`GET /v1/orders/{id}`, the action it shows its buyer), the buyer opens the action (scans the QR: a GET of its
 * content, redirects followed, to the sandbox's checkout page) and presses Pay (`POST .../pay`). Orders needing
 * an action are found with one query of Postgres per poll, like the bench's other polls.
 */
export interface Buyers {
  /** Stops looking for orders, and waits for the payments in flight. */
  stop(): Promise<BuyerFigures>;
}

export interface BuyerFigures {
  paid: number;
  /** Pay answers other than 2xx (a 409: already paid, closed or expired). */
  refused: number;
  errors: number;
  /** From the order's creation to the buyer's Pay answered, ms, over the paid orders. */
  createdToPay: { p50: number; p99: number };
  /** The buyer's own step: reading the order, opening the action, paying, ms. */
  buyerStep: { p50: number; p99: number };
}

/** How many buyers act at once, and how often Postgres is asked which orders wait for theirs. */
const IN_FLIGHT = 16;
const POLL_MS = 25;

type Urls = { base: string; sandboxBase: string };

export const buysThroughAction = (settings: BenchSettings) => settings.paymentFlow !== 'token';

/** `base`: the web process; `sandboxBase`: the sandbox provider's /sandbox, where checkout pages are. */
export function startBuyers(pool: pg.Pool, { base, sandboxBase }: Urls, shop: BenchShop): Buyers {
  const seen = new Set<string>();
  const queue: Array<{ id: string; createdAt: number }> = [];
  const steps: number[] = [];
  const sinceCreated: number[] = [];
  const figures = { paid: 0, refused: 0, errors: 0 };
  let stopped = false;
  let failure: unknown;

  const buy = async (id: string, createdAt: number) => {
    const t0 = performance.now();
    const order = await fetch(`${base}/v1/orders/${id}`, { headers: { authorization: `Bearer ${shop.apiKey}` } });
    const action = (await order.json())?.payment?.action as { type: string; qrContent?: string; url?: string; params?: { package?: string } } | null;
    if (!action) return; // paid or ended meanwhile: nothing for the buyer to do
    const checkout =
      action.type === 'jsapi' ? `${sandboxBase}/checkout/${String(action.params?.package).replace(/^prepay_id=/, '')}`
      : /^(.*\/sandbox\/checkout\/[^/?#]+)/.exec((await openAction(action)))?.[1];
    if (!checkout) throw new Error(`order ${id}: the action ${JSON.stringify(action)} does not lead to a checkout page`);
    const paid = await fetch(`${checkout}/pay`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    await paid.arrayBuffer();
    if (paid.status >= 300) {
      figures.refused++;
      return;
    }
    figures.paid++;
    steps.push(performance.now() - t0);
    sinceCreated.push(Date.now() - createdAt);
  };

  const workers = Array.from({ length: IN_FLIGHT }, async () => {
    while (!stopped || queue.length) {
      const next = queue.shift();
      if (!next) {
        await sleep(10);
        continue;
      }
      try {
        await buy(next.id, next.createdAt);
      } catch (error) {
        figures.errors++;
        // One lost answer is retried at the next poll; a harness that cannot pay at all stops the run.
        seen.delete(next.id);
        if (figures.errors > 20) failure ??= error;
      }
    }
  });

  const poll = (async () => {
    while (!stopped) {
      const { rows } = await pool.query<{ id: string; created: Date }>(
        `SELECT id, created_at AS created FROM orders WHERE shop_id = $1 AND status = 'placed' AND payment_status = 'action_required'`,
        [shop.id],
      );
      for (const r of rows) {
        if (seen.has(r.id)) continue;
        seen.add(r.id);
        queue.push({ id: r.id, createdAt: new Date(r.created).getTime() });
      }
      await sleep(POLL_MS);
    }
  })();
  poll.catch(() => undefined); // awaited in stop(); this only keeps a failure from going unhandled meanwhile

  async function openAction(action: { type: string; qrContent?: string; url?: string }): Promise<string> {
    const page = await fetch(action.type === 'qr_code' ? action.qrContent! : action.url!, { redirect: 'follow' });
    await page.arrayBuffer();
    if (page.status !== 200) throw new Error(`the action's page answered ${page.status}`);
    return page.url;
  }

  return {
    async stop() {
      stopped = true;
      await poll;
      await Promise.all(workers);
      if (failure) throw failure;
      steps.sort((a, b) => a - b);
      sinceCreated.sort((a, b) => a - b);
      return {
        ...figures,
        createdToPay: { p50: percentile(sinceCreated, 50), p99: percentile(sinceCreated, 99) },
        buyerStep: { p50: percentile(steps, 50), p99: percentile(steps, 99) },
      };
    },
  };
}

/** Runs `work` with buyers paying the shop's orders when the flow needs them; their figures, if any. */
export async function withBuyers<T>(pool: pg.Pool, urls: Urls, shop: BenchShop, settings: BenchSettings, work: () => Promise<T>): Promise<{ result: T; buyers?: BuyerFigures }> {
  if (!buysThroughAction(settings)) return { result: await work() };
  const buyers = startBuyers(pool, urls, shop);
  let result: T;
  try {
    result = await work();
  } catch (error) {
    await buyers.stop().catch(() => undefined);
    throw error;
  }
  return { result, buyers: await buyers.stop() };
}

/** The flow, as the report names it. */
export const flowLabel = (settings: BenchSettings) =>
  settings.paymentFlow === 'token' ? `${settings.paymentMethod}, token tok_ok (charged at once, no buyer step)` : `${settings.paymentMethod} ${settings.paymentFlow}, paid by the bench's buyers on the sandbox checkout`;
