import { chmodSync, createWriteStream, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { App, appEnv, PostgresServer, ports, RedisServer, sleep } from './cluster.js';
import { disrupt, newTimeline, note } from './faults.js';
import { httpClient, newStats } from './http.js';
import { checkInvariants, FINAL, type Check, type WalletCharge } from './invariants.js';
import { prng, type ChaosOptions } from './options.js';
import type { ChaosReport } from './report.js';
import { actAsBuyer, cancelEarly, newShopStats, onPaid, refundPartly, SKUS, submit, type ShopAccount, type Tracked } from './shop.js';
import { startNotifyRelay, type NotifyRelay } from './relay.js';
import { startSink } from './sink.js';

const WORKERS = 2;

/** One chaos run: its own Redis, Postgres, web and workers; load, disruptions, quiescence, invariants. */
export async function runChaos(opts: ChaosOptions): Promise<ChaosReport> {
  const started = Date.now();
  const deadline = started + opts.seconds * 1000;
  const random = prng(opts.seed);
  const dir = mkdtempSync(path.join(tmpdir(), 'ow-chaos-'));
  chmodSync(dir, 0o755); // Postgres runs as its own unprivileged user and must reach its data dir below
  const logDir = path.join(dir, 'logs');
  mkdirSync(logDir);
  const say = (m: string) => opts.verbose && process.stdout.write(`${m}\n`);
  const [redisPort, pgPort, webPort] = await ports(3);
  const redis = new RedisServer(redisPort!, path.join(dir, 'redis'), createWriteStream(path.join(logDir, 'redis.log'), { flags: 'a' }));
  const postgres = new PostgresServer(pgPort!, path.join(dir, 'postgres'), createWriteStream(path.join(logDir, 'postgres.log'), { flags: 'a' }));
  // Providers' notifications reach the app through a relay that duplicates some and replays them all, out of order.
  const relay: NotifyRelay = await startNotifyRelay(() => `http://127.0.0.1:${webPort}`, opts.duplicateNotifyShare, 5_000, random);
  const app = new App(appEnv({ databaseUrl: postgres.url, redisUrl: redis.url, port: webPort!, providerTimeoutMs: opts.providerTimeoutMs, notifyVia: relay.url }), logDir, WORKERS);
  const pool = new pg.Pool({ connectionString: postgres.url, max: 3 });
  pool.on('error', () => undefined); // the outage cuts idle connections too
  let sink: Awaited<ReturnType<typeof startSink>> | undefined;
  let finished = false;
  const deaths: string[] = [];
  try {
    say(`chaos: data and logs in ${dir}`);
    await redis.start();
    await postgres.init();
    await app.startWeb();
    for (let i = 0; i < WORKERS; i++) app.startWorker(i);
    say(`chaos: Redis ${redis.url}, Postgres 127.0.0.1:${pgPort}, web ${app.base}, ${WORKERS} workers`);

    const stats = newStats();
    const tl = newTimeline();
    const down = () => tl.down;
    const shopStats = newShopStats();
    let secret = '';
    sink = await startSink(() => secret, 0.03, random);
    const timeoutMs = opts.httpTimeoutSeconds * 1000;
    const operator = httpClient(app.base, `Basic ${Buffer.from('chaos:chaos-admin-pw').toString('base64')}`, stats, down, timeoutMs);
    const shops: ShopAccount[] = [];
    const initialStock = new Map<string, number>();
    for (const [name, webhook] of [['Chaos tea house', true], ['Chaos quiet shop', false]] as const) {
      const r = await operator('POST', '/v1/admin/shops', { name, ...(webhook ? { webhookUrl: sink.url } : {}) });
      if (r.status !== 201) throw new Error(`create shop: HTTP ${r.status} ${JSON.stringify(r.json)}`);
      if (webhook) secret = r.json.webhookSecret;
      const shop = { name, id: r.json.id, webhook, call: httpClient(app.base, `Bearer ${r.json.apiKey}`, stats, down, timeoutMs) };
      shops.push(shop);
      const stock = { TEA: opts.orders * 3, CUP: opts.orders, HOT: Math.max(2, Math.round(opts.orders / 40)) };
      for (const [sku, priceMinor] of Object.entries(SKUS)) {
        const p = await shop.call('PUT', `/v1/products/${sku}`, { name: sku, priceMinor, currency: 'CNY', stock: stock[sku as keyof typeof stock] });
        if (p.status !== 201) throw new Error(`stock ${sku}: HTTP ${p.status}`);
        initialStock.set(`${shop.id}/${sku}`, stock[sku as keyof typeof stock]);
      }
    }
    const [shopA, shopB] = shops as [ShopAccount, ShopAccount];
    const run = Math.floor(random() * 1e9).toString(36);

    // The load: one order every 1/rate s, three in four from the shop with a webhook.
    const tracked = new Map<string, Tracked>();
    const submissions: Promise<void>[] = [];
    const accept = (t: Tracked | undefined) => {
      if (!t) return;
      tracked.set(t.id, t);
      if (t.plan === 'cancel_early') return cancelEarly(t, shopStats);
    };
    const submitOne = (n: number, shop: ShopAccount) => submissions.push(submit(shop, run, n, shopStats, 120_000).then(async (t) => {
      await accept(t);
    }));
    let probes = 0;
    const loadMs = (opts.orders / opts.rate) * 1000;
    tl.t0 = Date.now();
    say(`chaos: ${opts.orders} orders over ${(loadMs / 1000).toFixed(0)} s, ${opts.kills} worker kills, ${opts.redisRestarts} Redis restarts, ${opts.postgresOutages} Postgres outages`);
    const load = (async () => {
      for (let n = 0; n < opts.orders && Date.now() < deadline; n++) {
        const due = tl.t0 + (n * 1000) / opts.rate;
        if (due > Date.now()) await sleep(due - Date.now());
        submitOne(n, n % 4 === 3 ? shopB : shopA);
      }
    })();
    const disruptions = disrupt({
      app, redis, postgres, tl, opts, random,
      probe: () => submitOne(opts.orders + probes++, shopA),
      stopped: () => Date.now() > deadline,
    }, loadMs);

    // The shop's back office: ship, cancel and refund what it sees paid; finish partial refunds.
    const fulfil = (async () => {
      while (!finished) {
        await fulfilPass(shops, tracked, shopStats).catch(() => undefined);
        app.reviveDead((name, tail) => {
          deaths.push(`${name} died on its own: ${tail.slice(-5).join(' | ')}`);
          note(tl, `${name} died on its own`, opts.verbose);
        });
        if (app.web && app.web.child.exitCode !== null) await app.startWeb().catch(() => undefined);
        await sleep(500);
      }
    })();

    // The buyers of wallet QR orders: each pays once its order shows its QR code, whatever is broken meanwhile.
    const sandbox = `${app.base}/sandbox`;
    const buying = (async () => {
      while (!finished) {
        const due = [...tracked.values()].filter((t) => t.wallet?.state === 'waiting');
        await inBatches(due.map((t) => () => actAsBuyer(t, sandbox, random).catch(() => undefined)), 8);
        await sleep(300);
      }
    })();

    await load;
    await disruptions;
    await Promise.all(submissions);
    // Every notification so far delivered again, newest first: long after, and out of order.
    const replayedAtEnd = await relay.replayAll();
    const loadEnded = Date.now();
    note(tl, `load and disruptions over; ${replayedAtEnd} notifications replayed newest first; waiting for quiescence`, opts.verbose);
    let quiescentAt: number | null = null;
    const stalls = new Map<string, { since: number; what: string }>();
    let [lastBusy, lastMark] = ['', ''];
    let movedAt = Date.now();
    while (Date.now() < deadline - 5_000 && Date.now() - movedAt < opts.quietSeconds * 1000) {
      await watchStalls(pool, shops, stalls, opts.stuckAfterSeconds).catch(() => undefined);
      const { busy, mark } = await outstanding(pool, shops, sink, tracked).catch((e: Error) => ({ busy: `unknown (${e.message})`, mark: lastMark }));
      if (!busy) {
        quiescentAt = Date.now();
        break;
      }
      if (mark !== lastMark) [lastMark, movedAt] = [mark, Date.now()];
      lastBusy = busy;
      if (opts.verbose && (Date.now() - loadEnded) % 10_000 < 1_000) note(tl, `still busy: ${busy}`, true);
      await sleep(1_000);
    }
    if (quiescentAt === null) note(tl, `gave up waiting for quiescence: ${lastBusy}`, opts.verbose);
    // Once everything ended, every notification once more, newest first: none may move an ended order.
    const replayedLast = await relay.replayAll();
    await sleep(2_000);
    note(tl, `${replayedLast} notifications replayed again after quiescence`, opts.verbose);
    finished = true;
    await fulfil;
    await buying;
    // The provider's own ledger of every wallet QR order, as anyone reads it (GET /sandbox/charges).
    const wallets = await inOrder([...tracked.values()].filter((t) => t.wallet), async (t) => ({
      id: t.id, n: t.n, wrongAmount: t.wallet!.wrongAmount, buyer: t.wallet!.state, attempts: t.wallet!.attempts,
      charges: ((await fetch(`${sandbox}/charges?reference=${t.id}`).then((r) => r.json(), () => ({ data: undefined }))) as { data?: WalletCharge[] }).data,
    }));
    await app.stop(); // flushes the logs the last check reads

    const checks = await checkInvariants({
      pool, accepted: [...tracked.values()].filter((t) => t.n >= 0), shopIds: shops.map((s) => s.id), webhookShopIds: [shopA.id],
      initialStock, sink, stuckAfterSeconds: opts.stuckAfterSeconds, wallets,
    });
    const stalled = [...stalls.entries()].filter(([, v]) => v.what.includes('stalled')).map(([id, v]) => `${id}: ${v.what}`);
    checks.push({
      name: `no order stalled while the rest moved on (left behind > ${opts.stuckAfterSeconds}s with <= 20 open)`,
      pass: stalled.length === 0, detail: `${stalled.length} stalled`, evidence: stalled.slice(0, 10),
    });
    checks.push(...httpChecks(stats, shopStats, deaths), logCheck(logDir));
    const notifyBad = Object.entries({ ...relay.duplicated, ...relay.replayed }).filter(([k]) => Number(k) >= 500 && k !== '503');
    checks.push({
      name: 'duplicated and replayed notifications never answered a 500', pass: notifyBad.length === 0 && relay.serverErrors.length === 0,
      detail: `${Object.values(relay.received).reduce((a, b) => a + b, 0)} notifications; duplicates ${fmt(relay.duplicated)}; replays ${fmt(relay.replayed)}`,
      evidence: relay.serverErrors.slice(0, 10),
    });
    const pass = checks.every((c) => c.pass);
    return {
      pass, seconds: (Date.now() - started) / 1000, quiescentAfterSeconds: quiescentAt === null ? null : (quiescentAt - loadEnded) / 1000,
      shop: shopStats, http: stats, timeline: tl, probes, checks, dir, seed: opts.seed,
      notify: { received: relay.received, forwarded: relay.forwarded, duplicated: relay.duplicated, replayed: relay.replayed },
      wallets: {
        orders: wallets.length, paidByBuyer: wallets.filter((w) => w.buyer === 'paid').length,
        wrongAmount: wallets.filter((w) => w.wrongAmount && w.buyer === 'paid').length, gone: wallets.filter((w) => w.buyer === 'gone').length,
        waiting: wallets.filter((w) => w.buyer === 'waiting').length,
      },
    };
  } finally {
    finished = true;
    sink?.close();
    relay.close();
    await pool.end().catch(() => undefined);
    await app.stop().catch(() => undefined);
    await redis.stop().catch(() => undefined);
    await postgres.stop().catch(() => undefined);
  }
}

/** Removes the run's data and logs (kept when something failed, to read). */
export const removeRunDir = (dir: string) => rmSync(dir, { recursive: true, force: true });

async function fulfilPass(shops: ShopAccount[], tracked: Map<string, Tracked>, stats: ReturnType<typeof newShopStats>): Promise<void> {
  for (const shop of shops) {
    let cursor: string | null = null;
    do {
      const page = await shop.call('GET', `/v1/orders?status=paid&limit=100${cursor ? `&cursor=${cursor}` : ''}`);
      if (page.status !== 200) return;
      const work = (page.json.data as Array<{ id: string; externalId: string; totalMinor: number; payment: { capturedMinor: number } }>).map((o) => {
        // An order whose 202 the shop never saw (it gave up) is still the shop's: ship it like any other.
        let t = tracked.get(o.id);
        if (!t) tracked.set(o.id, (t = { n: -1, shop, key: o.externalId, id: o.id, plan: 'ship', step: 'new' }));
        return t.step !== 'new' ? undefined : () => onPaid(t, o, stats);
      });
      await inBatches(work.filter((w) => w !== undefined), 8);
      cursor = page.json.nextCursor;
    } while (cursor);
  }
  const refunding = [...tracked.values()].filter((t) => ['shipped', 'refund1', 'refund2'].includes(t.step));
  await inBatches(refunding.map((t) => () => refundPartly(t, t.captured ?? 0, stats)), 8);
}

const fmt = (m: Record<string, number>) => Object.entries(m).sort().map(([k, v]) => `${k}: ${v}`).join(', ') || 'none';

/** `each` over `items`, eight at a time, results in order. */
async function inOrder<T, R>(items: T[], each: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += 8) out.push(...(await Promise.all(items.slice(i, i + 8).map(each))));
  return out;
}

async function inBatches(work: Array<() => Promise<void>>, size: number): Promise<void> {
  for (let i = 0; i < work.length; i += size) await Promise.all(work.slice(i, i + size).map((w) => w()));
}

/**
 * What is still moving: non-final orders, undelivered events, pending refunds, shop work ('' when quiet), and
 * a mark that changes whenever anything moved (an order, a parcel, an event, a refund), however slowly.
 */
async function outstanding(
  pool: pg.Pool, shops: ShopAccount[], sink: { received: Set<string> }, tracked: Map<string, Tracked>,
): Promise<{ busy: string; mark: string }> {
  const ids = shops.map((s) => s.id);
  const [r] = (await pool.query(
    `SELECT (SELECT count(*) FROM orders WHERE shop_id = ANY($1) AND status <> ALL($2))::int AS open,
            (SELECT count(*) FROM order_events WHERE shop_id = $3 AND state = 'pending')::int AS events,
            (SELECT count(*) FROM order_events WHERE shop_id = $3)::int AS all_events,
            (SELECT count(*) FROM refunds WHERE shop_id = ANY($1) AND status = 'pending')::int AS refunds,
            concat_ws(' ', (SELECT max(updated_at) FROM orders WHERE shop_id = ANY($1)),
                           (SELECT max(s.updated_at) FROM shipments s JOIN orders o ON o.id = s.order_id WHERE o.shop_id = ANY($1))) AS touched`,
    [ids, FINAL, shops.find((s) => s.webhook)!.id],
  )).rows as Array<{ open: number; events: number; all_events: number; refunds: number; touched: string }>;
  const shopWork = [...tracked.values()].filter((t) => ['shipped', 'refund1', 'refund2'].includes(t.step));
  const unreceived = r!.all_events - sink.received.size;
  const mark = `${r!.touched} ${r!.events} ${r!.all_events} ${sink.received.size} ${r!.refunds} ${shopWork.map((t) => t.step).join()}`;
  if (!r!.open && !r!.events && !r!.refunds && !shopWork.length && unreceived <= 0) return { busy: '', mark };
  return {
    busy: `${r!.open} open orders, ${r!.events} pending events, ${unreceived} events not yet received, ${r!.refunds} pending refunds, ${shopWork.length} refunds to send`,
    mark,
  };
}

function httpChecks(stats: ReturnType<typeof newStats>, shop: ReturnType<typeof newShopStats>, deaths: string[]): Check[] {
  const e5xx = Object.entries(stats.byStatus).filter(([k]) => Number(k) >= 500 && k !== '503').reduce((a, [, v]) => a + v, 0);
  const o = stats.outage;
  const badOutage = o.unavailableWithout + o.timeouts + o.e500 + o.other;
  const c = (name: string, bad: string[], detail: string): Check => ({ name, pass: bad.length === 0, detail, evidence: bad.slice(0, 10) });
  return [
    c('never a 500 (5xx other than 503)', e5xx ? stats.serverErrors : [], `${e5xx} seen`),
    c('intake while a dependency is down: 202, or 503 with Retry-After', badOutage ? [JSON.stringify(o)] : [],
      `${o.accepted + o.unavailableWithRetryAfter + o.refused + badOutage} answers, ${badOutage} otherwise`),
    c('every valid request eventually accepted', [...shop.unexpected, ...(shop.gaveUp ? [`${shop.gaveUp} orders given up after 120 s of 503s`] : [])],
      `${shop.unexpected.length} refused, ${shop.gaveUp} given up`),
    c('over-refunds refused', shop.overRefundsAccepted, `${shop.overRefundsRefused} refused with 409`),
    c('no process died on its own', deaths, `${deaths.length} deaths`),
  ];
}

/** A 500 answered to anyone (a provider's notification too, not only the shop) is logged as "unhandled error". */
function logCheck(logDir: string): Check {
  const found: string[] = [];
  for (const f of readdirSync(logDir).filter((n) => /^(web|worker-\d+)\.log$/.test(n))) {
    for (const line of readFileSync(path.join(logDir, f), 'utf8').split('\n')) {
      if (!line.includes('"msg":"unhandled error"')) continue;
      try {
        const j = JSON.parse(line);
        found.push(`${f} ${new Date(j.time).toISOString()} ${j.method ?? ''} ${j.path ?? ''}: ${j.err?.message ?? ''} @ ${String(j.err?.stack ?? '').split('\n').slice(1, 5).map((s: string) => s.trim()).join(' < ')}`);
      } catch {
        found.push(`${f} ${line.slice(0, 300)}`);
      }
    }
  }
  return { name: 'no unhandled error (500) in any log', pass: found.length === 0, detail: `${found.length} found`, evidence: found.slice(0, 10) };
}

/**
 * A backlog drains; a stalled order does not. When at most 20 orders are still open, one left behind by more
 * than the stuck threshold (untouched that long before the latest progress of any order or parcel) is recorded
 * as stalled, even if it moves on later (when a claim expires, say). Measured against the rest's progress, not
 * the clock: on a busy machine everything is slow together, and that is not a stall.
 */
async function watchStalls(pool: pg.Pool, shops: ShopAccount[], stalls: Map<string, { since: number; what: string }>, limit: number): Promise<void> {
  const rows = (await pool.query(
    // Progress is the order's own row or its parcels' news: a shipped order is not touched until delivery,
    // while its shipment records each new carrier event (a poll that finds nothing new changes nothing).
    `WITH latest AS (
       SELECT greatest((SELECT max(updated_at) FROM orders WHERE shop_id = ANY($1)),
                       (SELECT max(s.updated_at) FROM shipments s JOIN orders x ON x.id = s.order_id WHERE x.shop_id = ANY($1))) AS at)
     SELECT o.id, o.status,
            extract(epoch FROM (SELECT at FROM latest) - greatest(o.updated_at, (SELECT max(s.updated_at) FROM shipments s WHERE s.order_id = o.id)))::int AS age,
            (SELECT string_agg(s.status || ' next poll in ' || round(extract(epoch FROM s.next_poll_at - now())) || 's', ',') FROM shipments s WHERE s.order_id = o.id) AS shipment
       FROM orders o WHERE o.shop_id = ANY($1) AND o.status <> ALL($2) LIMIT 21`, [shops.map((s) => s.id), FINAL])).rows as Array<{ id: string; status: string; age: number; shipment: string | null }>;
  if (rows.length > 20) return;
  for (const r of rows) {
    if (r.age > limit && !stalls.get(r.id)?.what.includes('stalled')) {
      stalls.set(r.id, { since: Date.now(), what: `stalled: ${r.status} left ${r.age}s behind the rest's progress${r.shipment ? ` (shipment ${r.shipment})` : ''}` });
    }
  }
}
