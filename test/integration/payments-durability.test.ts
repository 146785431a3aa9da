import { afterEach, describe, expect, it } from 'vitest';
import { client, createShop, orderBody, waitForAll, waitForStatus, type Client } from '../support/client.js';
import { startSystem, type TestSystem } from '../support/system.js';
import { exited, serving, sleep, spawnWorker } from '../support/processes.js';
import { createDatabase } from '../../src/db/database.js';
import { loadPaymentGateways } from '../../src/runtime.js';
import { merchantReference } from '../../src/domain/order.js';
import { freePort } from '../../src/local/local-services.js';
import pg from 'pg';

let sys: TestSystem | undefined;
afterEach(async () => {
  await sys?.close();
  sys = undefined;
});

const METHODS = ['alipay', 'wechat_pay', 'paypal', 'card'];
const charges = async (base: string, orderId: string) => (await client(base)('GET', `/sandbox/charges?reference=${orderId}`)).json.data as unknown[];

describe('never charge twice', () => {
  it('charges each order exactly once while capture workers are killed mid-job', async () => {
    // Placement runs in this process; captures only in worker processes that get killed.
    sys = await startSystem({ env: { WORKER_QUEUES: 'order-placement,maintenance', WORKER_CONCURRENCY: '4' } });
    const shop = await createShop(sys.base);
    await shop.call('PUT', '/v1/products/P', { name: 'P', priceMinor: 990, currency: 'CNY', stock: 10_000 });
    const accepted = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        shop.call('POST', '/v1/orders', orderBody([{ sku: 'P', quantity: 1 }], { payment: { method: METHODS[i % 4], token: i % 5 === 0 ? 'tok_flaky' : 'tok_ok' } }), { 'idempotency-key': `k-${i}` }),
      ),
    );
    const ids = accepted.map((r) => r.json.id as string);
    const captureQueue = sys.web.queues['payment-capture'];
    const captureEnv = { ...sys.env, WORKER_QUEUES: 'payment-capture', WORKER_CONCURRENCY: '4' };
    let killedMidJob = 0;
    for (let round = 0; round < 5; round++) {
      const worker = spawnWorker(captureEnv);
      // Bounded from when it serves, not from its start: a busy machine starts processes slowly.
      await serving(captureQueue, 1, [worker]);
      const t0 = Date.now();
      while ((await captureQueue.getActiveCount()) === 0 && Date.now() - t0 < 15_000) await sleep(5);
      await sleep(Math.random() * 40);
      if ((await captureQueue.getActiveCount()) > 0) killedMidJob++;
      worker.kill('SIGKILL');
      await exited(worker);
    }
    expect(killedMidJob).toBeGreaterThan(0);
    const survivor = spawnWorker(captureEnv);
    try {
      await serving(captureQueue, 1, [survivor]);
      const finals = await waitForAll(shop.call, ids, ['paid', 'payment_failed'], 45_000);
      expect(finals.map((o) => o.status)).toEqual(ids.map(() => 'paid'));
      for (const id of ids) expect(await charges(sys.base, id), id).toHaveLength(1);
      expect((await shop.call('GET', '/v1/products/P')).json).toMatchObject({ stock: 9_940, reserved: 0 });
    } finally {
      survivor.kill('SIGTERM');
      await exited(survivor);
    }
  });
});

describe('holds that expire', () => {
  it('ends a placed order with no capture in flight payment_failed (payment_timeout) and releases its stock', async () => {
    sys = await startSystem({ env: { WORKER_QUEUES: 'order-placement,maintenance', HOLD_EXPIRES_MS: '1500' } });
    const shop = await createShop(sys.base);
    await shop.call('PUT', '/v1/products/H', { name: 'H', priceMinor: 100, currency: 'CNY', stock: 5 });
    const r = await shop.call('POST', '/v1/orders', orderBody([{ sku: 'H', quantity: 2 }]), { 'idempotency-key': 'hold-1' });
    await waitForStatus(shop.call, r.json.id, ['placed']);
    expect((await shop.call('GET', '/v1/products/H')).json).toMatchObject({ stock: 3, reserved: 2 });
    // Past the hold, the capture job is lost (say Redis restarted); a worker that captures comes up.
    await sleep(1_600);
    await sys.web.queues['payment-capture'].obliterate({ force: true });
    const worker = spawnWorker({ ...sys.env, WORKER_QUEUES: 'payment-capture' });
    try {
      await serving(sys.web.queues['payment-capture'], 1, [worker]);
      const o = await waitForStatus(shop.call, r.json.id, ['payment_failed', 'paid'], 20_000);
      expect(o).toMatchObject({ status: 'payment_failed', statusReason: 'payment_timeout', payment: { status: 'failed' } });
      expect((await shop.call('GET', '/v1/products/H')).json).toMatchObject({ stock: 5, reserved: 0 });
      expect(await charges(sys.base, r.json.id)).toEqual([]);
    } finally {
      worker.kill('SIGTERM');
      await exited(worker);
    }
  });
});

describe('a capture answer lost on the way back', () => {
  it('is settled by the provider notification, once', async () => {
    // Nobody consumes payment-capture: only the notification can settle this order.
    sys = await startSystem({ env: { WORKER_QUEUES: 'order-placement,maintenance' } });
    const shop = await createShop(sys.base);
    await shop.call('PUT', '/v1/products/N', { name: 'N', priceMinor: 4200, currency: 'CNY', stock: 5 });
    const db = createDatabase(sys.config.databaseUrl, { poolMax: 2 });
    try {
      const gateways = await loadPaymentGateways(sys.config, db);
      // Not wechat_pay: WeChat Pay sends no notification for a payment-code trade, as the sandbox no longer does either.
      for (const method of ['alipay', 'card']) {
        const r = await shop.call('POST', '/v1/orders', orderBody([{ sku: 'N', quantity: 1 }], { payment: { method, token: 'tok_timeout' } }), { 'idempotency-key': `n-${method}` });
        await waitForStatus(shop.call, r.json.id, ['placed']);
        const req = { reference: merchantReference(r.json.id), amountMinor: 4200, currency: 'CNY', token: 'tok_timeout', description: 'x', flow: method === 'card' ? 'token' as const : 'barcode' as const, expiresAt: new Date(Date.now() + 60_000) };
        await expect(gateways[method as 'alipay'].capture(req)).rejects.toMatchObject({ options: { ambiguous: true } });
        const o = await waitForStatus(shop.call, r.json.id, ['paid'], 15_000);
        expect(o.payment).toMatchObject({ status: 'captured', capturedMinor: 4200, attempts: 0 });
        expect(await charges(sys.base, r.json.id)).toHaveLength(1);
      }
    } finally {
      await db.close();
    }
  });
});

describe('a wallet payment whose worker dies inside the settle', () => {
  it('the buyer paid, the worker is SIGKILLed with the settle uncommitted; a new worker settles it exactly once', async () => {
    // Nothing runs in this process but the web process (API, sandbox providers, their checkout page).
    sys = await startSystem({ workers: false });
    const shop = await createShop(sys.base);
    await shop.call('PUT', '/v1/products/W', { name: 'W', priceMinor: 1999, currency: 'CNY', stock: 10 });
    const captureQueue = sys.web.queues['payment-capture'];
    // The trades are opened with a notify_url nobody listens on: Alipay's notification of the payment is lost,
    // so only the capture job following the trade can settle this order (a notification would settle it in the
    // web process, and the worker's death would prove nothing). The buyer's pages stay on the real sandbox.
    const workerEnv = { ...sys.env, PUBLIC_URL: `http://127.0.0.1:${await freePort()}`, SANDBOX_BASE_URL: `${sys.base}/sandbox`, LOG_LEVEL: process.env.WORKER_LOG_LEVEL ?? 'info' }; // WORKER_LOG_LEVEL=debug to see every job
    const holder = new pg.Client({ connectionString: sys.config.databaseUrl });
    await holder.connect();
    const first = spawnWorker(workerEnv);
    let second: ReturnType<typeof spawnWorker> | undefined;
    try {
      await serving(captureQueue, 1, [first]);
      const r = await shop.call('POST', '/v1/orders', orderBody([{ sku: 'W', quantity: 2 }], { payment: { method: 'alipay', flow: 'qr' } }), { 'idempotency-key': 'kill-settle-1' });
      expect(r.status, r.text).toBe(202);
      const id = r.json.id as string;
      await waitForStatus(shop.call, id, ['placed']);
      const o = await waitForPayment(shop.call, id, 'action_required');
      expect(o.payment.action).toMatchObject({ type: 'qr_code' });

      // The settle's one statement moves the order to paid and then its products' `reserved`: with this
      // product's row locked here, the worker's settle transaction waits inside, the order's row updated and
      // not committed, right after the provider answered "paid".
      await holder.query('BEGIN');
      await holder.query(`SELECT id FROM products WHERE sku = 'W' FOR UPDATE`);

      // The buyer scans the code and pays on the checkout page.
      const scanned = await fetch(o.payment.action.qrContent, { redirect: 'follow' });
      expect(scanned.status).toBe(200);
      const checkout = /^(.*\/sandbox\/checkout\/[^/?#]+)/.exec(scanned.url)![1]!;
      const paid = await fetch(`${checkout}/pay`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      expect(paid.status, await paid.text()).toBe(200);
      expect(await charges(sys.base, id)).toMatchObject([{ status: 'captured', amountMinor: 3998 }]);

      // Bound by the worker's work: it looks at the trade again (about a second after the payment), finds it
      // paid and reaches the settle; fails if the worker dies or the order moves on some other way.
      await settleWaiting(holder, sys.config.databaseUrl, first, async () => (await shop.call('GET', `/v1/orders/${id}`)).json);
      first.kill('SIGKILL');
      expect(await exited(first)).toMatchObject({ signal: 'SIGKILL' });
      await holder.query('ROLLBACK');

      // The killed transaction rolled back: the order still waits for its payment, and its job is stalled.
      const between = (await shop.call('GET', `/v1/orders/${id}`)).json;
      expect(between).toMatchObject({ status: 'placed', payment: { status: 'action_required', capturedMinor: 0 } });
      expect((await shop.call('GET', '/v1/products/W')).json).toMatchObject({ stock: 8, reserved: 2 });

      second = spawnWorker(workerEnv);
      await serving(captureQueue, 1, [second]);
      // Its stalled-job check hands the dead worker's job back after JOB_LOCK_MS (the reconciler would restart it
      // otherwise); the job follows the trade, finds it paid, settles.
      const done = await waitForStatus(shop.call, id, ['paid', 'payment_failed']);
      expect(done, second.output.join('').slice(-4_000)).toMatchObject({ status: 'paid', payment: { status: 'captured', capturedMinor: done.totalMinor, action: null } });
      expect(done.totalMinor).toBe(3998);
      expect(done.payment.events.map((e: { type: string }) => e.type)).toEqual(['action_required', 'captured']);
      expect(await charges(sys.base, id)).toMatchObject([{ status: 'captured', amountMinor: 3998, refundedMinor: 0 }]);
      expect((await shop.call('GET', '/v1/products/W')).json).toMatchObject({ stock: 8, reserved: 0 });
      // Settled once: nothing refunded, no refund queued, and the order stays as it is.
      expect((await shop.call('GET', `/v1/orders/${id}`)).json).toMatchObject({ status: 'paid', payment: { status: 'captured', capturedMinor: 3998 } });
    } finally {
      await holder.end().catch(() => undefined);
      for (const w of [first, second]) {
        if (w && w.exitCode === null && w.signalCode === null) {
          w.kill('SIGTERM');
          await exited(w);
        }
      }
    }
  });
});

/** Polls an order until its payment status is `want`, bound by progress as waitForStatus is. */
async function waitForPayment(call: Client, id: string, want: string, quietMs = 20_000) {
  let last = '';
  let movedAt = Date.now();
  for (;;) {
    const r = await call('GET', `/v1/orders/${id}`);
    if (r.json?.payment?.status === want) return r.json;
    if (r.text !== last) [last, movedAt] = [r.text, Date.now()];
    if (Date.now() - movedAt > quietMs) throw new Error(`order ${id}: payment not ${want}, no change for ${quietMs} ms: ${last}`);
    await sleep(50);
  }
}

/**
 * Waits until a session waits for `holder`'s lock inside the settle's statement (the one that writes
 * `stock_state = 'sold'`). Read from a connection of its own: in the holder's transaction, pg_stat_activity
 * would show the snapshot of its first read. Bound by the work: fails as soon as the worker exits or the
 * order leaves `placed`; the minute is only a backstop, so a worker that never settles fails with what it
 * logged and what the database's sessions were doing rather than hanging.
 */
async function settleWaiting(holder: pg.Client, databaseUrl: string, worker: ReturnType<typeof spawnWorker>, order: () => Promise<any>) {
  const holderPid = (await holder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
  const observer = new pg.Client({ connectionString: databaseUrl });
  await observer.connect();
  try {
    const t0 = Date.now();
    for (;;) {
      const { rows } = await observer.query(
        `SELECT pid FROM pg_stat_activity WHERE pg_blocking_pids(pid) @> ARRAY[$1::int] AND query LIKE '%stock_state = ''sold''%'`,
        [holderPid],
      );
      if (rows.length) return;
      if (worker.exitCode !== null || worker.signalCode !== null) throw new Error(`the worker exited before settling: ${worker.output.join('').slice(-3_000)}`);
      const o = await order();
      if (o.status !== 'placed') throw new Error(`the order moved on without the worker's settle: ${JSON.stringify(o)}`);
      if (Date.now() - t0 > 60_000) {
        const sessions = await observer.query(
          `SELECT pid, pg_blocking_pids(pid) AS blocked_by, state, wait_event_type, wait_event, left(query, 300) AS query
             FROM pg_stat_activity WHERE datname = current_database() AND (state <> 'idle' OR wait_event_type = 'Lock')`,
        );
        throw new Error(`the worker never reached the settle: ${JSON.stringify(o)}\nsessions: ${JSON.stringify(sessions.rows)}\n${worker.output.join('').slice(-3_000)}`);
      }
      await sleep(50);
    }
  } finally {
    await observer.end();
  }
}
