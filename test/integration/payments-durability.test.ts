import { afterEach, describe, expect, it } from 'vitest';
import { client, createShop, orderBody, waitForAll, waitForStatus } from '../support/client.js';
import { startSystem, type TestSystem } from '../support/system.js';
import { exited, serving, sleep, spawnWorker } from '../support/processes.js';
import { createDatabase } from '../../src/db/database.js';
import { loadPaymentGateways } from '../../src/runtime.js';
import { merchantReference } from '../../src/domain/order.js';

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
