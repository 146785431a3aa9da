import autocannon from 'autocannon';
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { sleep } from './processes.js';
import { countOrders, settled, type BenchShop, type Counts } from './shop.js';

export interface LoadResult {
  accepted: number;
  other: number;
  errors: number;
  seconds: number;
  p50: number;
  p99: number;
  /** performance.now() when the load started and ended. */
  startedAt: number;
  endedAt: number;
}

/**
 * POSTs `count` orders at `connections` in parallel with autocannon, each with an Idempotency-Key of its
 * own; the body of the i-th order is `body(i)`. Counts 202 answers apart from anything else.
 */
export async function postOrders(
  base: string,
  shop: BenchShop,
  count: number,
  connections: number,
  body: (i: number) => string,
  onAnswer: (status: number) => void = () => undefined,
): Promise<LoadResult> {
  const run = randomBytes(4).toString('hex');
  let i = 0;
  // autocannon resolves on its one-second ticker, so its own end time (and duration) is up to a second late:
  // 5,000 orders answered in 2.1 s read as 3.0 s. The load ends at the last answer.
  let lastAnswerAt = 0;
  const startedAt = performance.now();
  const result = await autocannon({
    url: base,
    connections: Math.min(connections, count),
    amount: count,
    timeout: 30,
    requests: [
      {
        method: 'POST',
        path: '/v1/orders',
        setupRequest: (req) => {
          const n = i++;
          return {
            ...req,
            headers: { ...req.headers, authorization: `Bearer ${shop.apiKey}`, 'content-type': 'application/json', 'idempotency-key': `${run}-${n}` },
            body: body(n),
          };
        },
        onResponse: (status: number) => {
          lastAnswerAt = performance.now();
          onAnswer(status);
        },
      },
    ],
  });
  const endedAt = lastAnswerAt || performance.now();
  const accepted = result.statusCodeStats?.['202']?.count ?? 0;
  return {
    accepted,
    other: result['1xx'] + result['2xx'] + result['3xx'] + result['4xx'] + result['5xx'] - accepted,
    errors: result.errors,
    seconds: (endedAt - startedAt) / 1000,
    p50: result.latency.p50,
    p99: result.latency.p99,
    startedAt,
    endedAt,
  };
}

const STALL_MS = 60_000;

/** Polls one shop's order counts until `done(counts)`; the poll interval is small against the expected wait. */
export async function waitForOrders(
  pool: pg.Pool,
  shopId: string,
  done: (c: Counts) => boolean,
  opts: { timeoutMs: number; intervalMs: number; onPoll?: (c: Counts, at: number) => void },
): Promise<{ counts: Counts; at: number }> {
  const until = performance.now() + opts.timeoutMs;
  let last = '';
  let changedAt = performance.now();
  for (;;) {
    const counts = await countOrders(pool, shopId);
    const at = performance.now();
    opts.onPoll?.(counts, at);
    if (done(counts)) return { counts, at };
    if (at > until) throw new Error(`orders of shop ${shopId} not done after ${opts.timeoutMs} ms: ${JSON.stringify(counts)}`);
    // A run where nothing moves for a minute is broken (jobs failing and retrying): stop rather than wait it out.
    const now = JSON.stringify(counts);
    if (now !== last) [last, changedAt] = [now, at];
    else if (at - changedAt > STALL_MS) throw new Error(`orders of shop ${shopId} stuck for ${STALL_MS / 1000} s: ${now}`);
    await sleep(opts.intervalMs);
  }
}

/** A poll interval of about 1/400 of a wait expected to process `orders` at ~`perSecond`, within 20..250 ms. */
export const pollEvery = (orders: number, perSecond = 300) => Math.min(250, Math.max(20, Math.round((orders / perSecond) * 1000 / 400)));

/**
 * POSTs orders while polling Postgres, and returns when every accepted order is settled (paid, rejected...):
 * the clock runs from the first POST to the poll that sees the last one settle.
 */
export async function postAndSettle(pool: pg.Pool, base: string, shop: BenchShop, count: number, connections: number, body: (i: number) => string, timeoutMs: number) {
  let load: LoadResult | undefined;
  let failure: unknown;
  // Counted as the answers come, not from autocannon's result, which arrives on its ticker up to a second late.
  let answered = 0;
  let accepted = 0;
  const startedAt = performance.now();
  const posting = postOrders(base, shop, count, connections, body, (status) => {
    answered++;
    if (status === 202) accepted++;
  }).then((r) => void (load = r), (e) => void (failure = e));
  const done = (c: Counts) => {
    if (failure) throw failure;
    const allAnswered = load !== undefined || answered >= count;
    return allAnswered && c.total! >= accepted && settled(c) === c.total;
  };
  const end = await waitForOrders(pool, shop.id, done, {
    timeoutMs,
    intervalMs: pollEvery(count),
  });
  await posting;
  return { load: load!, counts: end.counts, seconds: (end.at - startedAt) / 1000 };
}
