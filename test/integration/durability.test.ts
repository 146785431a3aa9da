import { afterEach, describe, expect, it } from 'vitest';
import { createShop, orderBody, waitForAll, waitForStatus } from '../support/client.js';
import { startSystem, type TestSystem } from '../support/system.js';
import { exited, serving, sleep, spawnWorker } from '../support/processes.js';
import { createDatabase } from '../../src/db/database.js';

/** Placement only: these tests look at stock as placement leaves it (payments have their own tests). */
const PLACEMENT_ONLY = { WORKER_QUEUES: 'order-placement,maintenance' };

let sys: TestSystem | undefined;
afterEach(async () => {
  await sys?.close();
  sys = undefined;
});

describe('never oversell', () => {
  it('50 concurrent orders against a stock of 10: 10 placed, 40 out_of_stock, stock 0', async () => {
    sys = await startSystem({ env: PLACEMENT_ONLY });
    const shop = await createShop(sys.base);
    await shop.call('PUT', '/v1/products/HOT', { name: 'Hot', priceMinor: 100, currency: 'CNY', stock: 10 });
    const accepted = await Promise.all(
      Array.from({ length: 50 }, (_, i) => shop.call('POST', '/v1/orders', orderBody([{ sku: 'HOT', quantity: 1 }]), { 'idempotency-key': `hot-${i}` })),
    );
    expect(accepted.every((r) => r.status === 202)).toBe(true);
    const finals = await waitForAll(shop.call, accepted.map((r) => r.json.id), ['placed', 'rejected']);
    expect(finals.filter((o) => o.status === 'placed')).toHaveLength(10);
    expect(finals.filter((o) => o.status === 'rejected' && o.statusReason === 'out_of_stock')).toHaveLength(40);
    expect((await shop.call('GET', '/v1/products/HOT')).json).toMatchObject({ stock: 0, reserved: 10 });
  });
});

describe('never lose an accepted order', () => {
  it('places every order exactly once while worker processes are killed mid-job', async () => {
    sys = await startSystem({ workers: false, env: { ...PLACEMENT_ONLY, WORKER_CONCURRENCY: '4' } });
    const shop = await createShop(sys.base);
    await shop.call('PUT', '/v1/products/K', { name: 'K', priceMinor: 100, currency: 'CNY', stock: 100 });
    await shop.call('PUT', '/v1/products/L', { name: 'L', priceMinor: 7, currency: 'CNY', stock: 1000 });
    const ids: string[] = [];
    const submit = async (from: number, n: number) => {
      const rs = await Promise.all(
        Array.from({ length: n }, (_, i) =>
          shop.call('POST', '/v1/orders', orderBody([{ sku: 'L', quantity: 2 }, { sku: 'K', quantity: 1 }]), { 'idempotency-key': `kill-${from + i}` }),
        ),
      );
      for (const r of rs) {
        expect(r.status).toBe(202);
        ids.push(r.json.id);
      }
    };
    await submit(0, 80);
    const placement = sys.web.queues['order-placement'];
    let killedMidJob = 0;
    for (let round = 0; round < 4; round++) {
      const worker = spawnWorker(sys.env);
      // Bounded from when it serves, not from its start: a busy machine starts processes slowly.
      await serving(placement, 1, [worker]);
      const t0 = Date.now();
      while ((await placement.getActiveCount()) === 0 && Date.now() - t0 < 15_000) await sleep(5);
      if ((await placement.getActiveCount()) > 0) killedMidJob++;
      worker.kill('SIGKILL');
      await exited(worker);
      await submit(80 + round * 20, 20);
    }
    expect(killedMidJob).toBeGreaterThan(0);

    const survivor = spawnWorker(sys.env);
    try {
      await serving(placement, 1, [survivor]);
      const finals = await waitForAll(shop.call, ids, ['placed', 'rejected'], 45_000);
      const placed = finals.filter((o) => o.status === 'placed');
      expect(placed).toHaveLength(100);
      expect(finals.filter((o) => o.statusReason === 'out_of_stock')).toHaveLength(60);
      // Exactly once: stock moved by exactly the placed orders' quantities, no more.
      expect((await shop.call('GET', '/v1/products/K')).json).toMatchObject({ stock: 0, reserved: 100 });
      expect((await shop.call('GET', '/v1/products/L')).json).toMatchObject({ stock: 800, reserved: 200 });
      const db = createDatabase(sys.config.databaseUrl, { poolMax: 1 });
      const [counts] = await db.rows<{ orders: number; lines: number }>(
        'SELECT count(DISTINCT o.id)::int AS orders, count(*)::int AS lines FROM orders o JOIN order_items i ON i.order_id = o.id',
      );
      await db.close();
      expect(counts).toEqual({ orders: 160, lines: 320 });
    } finally {
      survivor.kill('SIGTERM');
      expect(await exited(survivor)).toEqual({ code: 0, signal: null });
    }
  });

  it('the repair sweep re-enqueues orders whose jobs Redis lost', async () => {
    sys = await startSystem({ workers: false, env: PLACEMENT_ONLY });
    const shop = await createShop(sys.base);
    await shop.call('PUT', '/v1/products/S', { name: 'S', priceMinor: 5, currency: 'CNY', stock: 10 });
    const r = await Promise.all(
      [0, 1, 2].map((i) => shop.call('POST', '/v1/orders', orderBody([{ sku: 'S', quantity: 1 }]), { 'idempotency-key': `lost-${i}` })),
    );
    // Redis forgets everything (a restart without persistence): the orders exist only in Postgres.
    await sys.web.queues['order-placement'].obliterate({ force: true });
    expect(await sys.web.queues['order-placement'].count()).toBe(0);
    const worker = spawnWorker(sys.env);
    try {
      await serving(sys.web.queues['order-placement'], 1, [worker]);
      for (const x of r) expect((await waitForStatus(shop.call, x.json.id, ['placed'], 30_000)).totalMinor).toBe(5);
    } finally {
      worker.kill('SIGTERM');
      await exited(worker);
    }
  });

  it('accepts an order while Redis is unreachable from the intake, and places it once Redis is back', async () => {
    const healthy = await startSystem({ workers: false, env: PLACEMENT_ONLY });
    sys = healthy;
    // A second web process of the same deployment whose Redis is down.
    const cut = await startSystem({ workers: false, env: { ...PLACEMENT_ONLY, ...pick(healthy.env), REDIS_URL: 'redis://127.0.0.1:1' } });
    try {
      const shop = await createShop(healthy.base);
      await shop.call('PUT', '/v1/products/R', { name: 'R', priceMinor: 9, currency: 'CNY', stock: 3 });
      const viaCut = (await import('../support/client.js')).client(cut.base, { bearer: shop.apiKey });
      const r = await viaCut('POST', '/v1/orders', orderBody([{ sku: 'R', quantity: 1 }]), { 'idempotency-key': 'no-redis' });
      expect(r.status).toBe(202);
      expect((await fetch(`${cut.base}/readyz`)).status).toBe(503);
      const worker = spawnWorker(healthy.env);
      try {
        await serving(healthy.web.queues['order-placement'], 1, [worker]);
        expect((await waitForStatus(shop.call, r.json.id, ['placed'], 30_000)).status).toBe('placed');
      } finally {
        worker.kill('SIGTERM');
        await exited(worker);
      }
    } finally {
      await cut.close();
    }
  });
});

const pick = (env: Record<string, string>) => ({ DATABASE_URL: env.DATABASE_URL!, QUEUE_PREFIX: env.QUEUE_PREFIX! });
