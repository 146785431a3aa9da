import { withBuyers } from './buyer.js';
import { pollEvery, postOrders, waitForOrders } from './load.js';
import { whileAlive } from './processes.js';
import { int, rate, type Row } from './report.js';
import type { BenchSettings } from './settings.js';
import { bodiesFor, createBenchShop, plentyOf, settled, type BenchShop } from './shop.js';
import type { BenchSystem } from './system.js';

export interface Drain {
  orders: number;
  /** Orders per second from the first order leaving `received` to the last one `paid` (settled). */
  toPaid: number;
  /** Orders per second from the same start until none is left `received`. */
  toPlaced: number;
  enqueuePerSecond: number;
}

/**
 * Starts a worker on a shop whose `orders` are all queued and times the drain. The clock starts at the
 * first poll that sees an order leave `received`, so the worker's boot is not counted.
 */
export async function drain(sys: BenchSystem, settings: BenchSettings, shop: BenchShop, orders: number, enqueuePerSecond: number): Promise<Drain> {
  const worker = await sys.startWorker();
  let started: number | undefined;
  let placedAt: number | undefined;
  const { result: end } = await withBuyers(sys.pool, sys, shop, settings, () => whileAlive(
    [sys.web, worker],
    waitForOrders(sys.pool, shop.id, (c) => settled(c) === c.total, {
      timeoutMs: settings.waitTimeoutMs,
      intervalMs: pollEvery(orders),
      onPoll: (c, at) => {
        if (started === undefined && (c.received ?? 0) < c.total!) started = at;
        if (placedAt === undefined && !c.received) placedAt = at;
      },
    }),
  ));
  const seconds = (end.at - started!) / 1000;
  const paid = end.counts.paid ?? 0;
  if (paid !== orders) throw new Error(`backlog of ${orders}: only ${paid} paid: ${JSON.stringify(end.counts)}`);
  return { orders, toPaid: orders / seconds, toPlaced: orders / Math.max(0.001, (placedAt! - started!) / 1000), enqueuePerSecond };
}

/** Queues `orders` through HTTP with no worker running (the web process alone), then drains them. */
async function backlogOf(sys: BenchSystem, settings: BenchSettings, orders: number): Promise<Drain> {
  await sys.stopWorker();
  const shop = await createBenchShop(sys, `bench-backlog-${orders}`, plentyOf(settings, 'BL'));
  const load = await postOrders(sys.base, shop, orders, settings.connections, bodiesFor(settings, shop));
  if (load.accepted !== orders) throw new Error(`backlog: ${load.accepted} of ${orders} accepted (${load.other} other answers, ${load.errors} errors)`);
  const result = await drain(sys, settings, shop, orders, load.accepted / load.seconds);
  await sys.stopWorker();
  return result;
}

export async function backlogScenario(sys: BenchSystem, settings: BenchSettings): Promise<{ rows: Row[]; small: Drain; large: Drain }> {
  const small = await backlogOf(sys, settings, settings.backlogSmall);
  const large = await backlogOf(sys, settings, settings.backlogLarge);
  const ratio = large.toPaid / small.toPaid;
  return {
    small,
    large,
    rows: [
      {
        scenario: '4 backlog',
        measure: `drain to \`paid\` with ${int(large.orders)} queued`,
        orderworks: rate(large.toPaid),
        baseline: `${rate(small.toPaid)} (the same with ${int(small.orders)} queued)`,
        ratio,
        target: '>= 0.90',
        met: ratio >= 0.9,
      },
      {
        scenario: '4 backlog',
        measure: 'drain to `placed` (no `received` left), large / small',
        orderworks: rate(large.toPlaced),
        baseline: rate(small.toPlaced),
        ratio: large.toPlaced / small.toPlaced,
        target: '',
        met: null,
      },
      {
        scenario: '4 backlog',
        measure: `queueing the ${int(large.orders)} over HTTP (web alone)`,
        orderworks: rate(large.enqueuePerSecond),
        baseline: '',
        ratio: null,
        target: '',
        met: null,
      },
    ],
  };
}
