import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client, createShop, orderBody, waitForStatus, type Client } from '../support/client.js';
import { ADMIN, startSystem, type TestSystem } from '../support/system.js';

/** docs/api.md section 9: an operator finds any shop's order, and sees where each of its jobs stands. */
let sys: TestSystem;
let ops: Client;
let acme: Awaited<ReturnType<typeof createShop>>;
let other: Awaited<ReturnType<typeof createShop>>;

const fault = (mode: string) =>
  fetch(`${sys.base}/sandbox/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ method: 'card', mode, forMs: 600_000 }) });

async function until<T>(read: () => Promise<T>, ok: (v: T) => boolean, what: string, tries = 300): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const v = await read();
    if (ok(v)) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`never saw ${what}`);
}

beforeAll(async () => {
  sys = await startSystem();
  ops = client(sys.base, { basic: ADMIN });
  acme = await createShop(sys.base, 'Acme');
  other = await createShop(sys.base, 'Other');
  for (const s of [acme, other]) await s.call('PUT', '/v1/products/TEA', { name: 'Tea', priceMinor: 1000, currency: 'CNY', stock: 100 });
});
afterAll(() => sys?.close());

describe('operator order lookup', () => {
  it('finds orders of any shop by id, externalId, shop and status, newest first, page by page', async () => {
    const a = await acme.call('POST', '/v1/orders', orderBody([{ sku: 'TEA', quantity: 1 }], { externalId: 'A-1' }), { 'idempotency-key': 'a1' });
    const b = await other.call('POST', '/v1/orders', orderBody([{ sku: 'TEA', quantity: 1 }], { externalId: 'B-1' }), { 'idempotency-key': 'b1' });
    const c = await other.call('POST', '/v1/orders', orderBody([{ sku: 'NOPE', quantity: 1 }], { externalId: 'B-2' }), { 'idempotency-key': 'b2' });
    await waitForStatus(acme.call, a.json.id, ['paid']);
    await waitForStatus(other.call, b.json.id, ['paid']);
    await waitForStatus(other.call, c.json.id, ['rejected']);

    const byId = await ops('GET', `/v1/admin/orders?q=${b.json.id}`);
    expect(byId.status).toBe(200);
    expect(byId.json.data).toEqual([expect.objectContaining({ id: b.json.id, shopId: other.id, externalId: 'B-1', status: 'paid', totalMinor: 1000, currency: 'CNY' })]);
    expect((await ops('GET', '/v1/admin/orders?q=A-1')).json.data.map((o: { id: string }) => o.id)).toEqual([a.json.id]);
    expect((await ops('GET', `/v1/admin/orders?shopId=${other.id}&status=rejected`)).json.data).toEqual([
      expect.objectContaining({ id: c.json.id, statusReason: 'unknown_sku' }),
    ]);

    const first = await ops('GET', '/v1/admin/orders?limit=2');
    expect(first.json.data).toHaveLength(2);
    const second = await ops('GET', `/v1/admin/orders?limit=2&cursor=${first.json.nextCursor}`);
    const seen = [...first.json.data, ...second.json.data].map((o: { id: string }) => o.id);
    expect(new Set(seen)).toEqual(new Set([a.json.id, b.json.id, c.json.id]));
    expect(seen).toEqual([...seen].sort().reverse());
  });

  it('shows an order with each of its jobs: a capture retrying with its last error, then completed', async () => {
    expect((await fault('error500')).status).toBe(200);
    const r = await acme.call('POST', '/v1/orders', orderBody([{ sku: 'TEA', quantity: 2 }], { payment: { method: 'card', token: 'tok_ok' } }), { 'idempotency-key': 'c1' });
    const retrying = await until(
      () => ops('GET', `/v1/admin/orders/${r.json.id}`),
      (x) => x.json?.jobs?.some((j: { queue: string; lastError: string | null }) => j.queue === 'payment-capture' && j.lastError),
      'a capture job with an error',
    );
    expect(retrying.json.order).toMatchObject({ id: r.json.id, shopId: acme.id, status: 'placed' });
    const capture = retrying.json.jobs.find((j: { queue: string }) => j.queue === 'payment-capture');
    expect(capture).toMatchObject({ id: `capture-${r.json.id}`, name: `charge order ${r.json.id} (or follow its buyer's trade)`, attemptsMade: expect.any(Number) });
    expect(capture.attemptsMade).toBeGreaterThanOrEqual(1);
    expect(retrying.json.jobs).toContainEqual(expect.objectContaining({ queue: 'order-placement', id: `place-${r.json.id}`, state: 'completed' }));

    expect((await fault('none')).status).toBe(200);
    await waitForStatus(acme.call, r.json.id, ['paid'], 60_000);
    const done = await until(
      () => ops('GET', `/v1/admin/orders/${r.json.id}`),
      (x) => x.json.jobs.some((j: { queue: string; state: string }) => j.queue === 'payment-capture' && j.state === 'completed'),
      'the capture completed',
    );
    expect(done.json.order.status).toBe('paid');
  });

  it('answers 404 for an unknown order, 400 naming a bad filter, 401 without operator credentials', async () => {
    expect((await ops('GET', '/v1/admin/orders/00000000-0000-4000-8000-000000000000')).status).toBe(404);
    expect((await ops('GET', '/v1/admin/orders/not-an-id')).status).toBe(404);
    const bad = await ops('GET', '/v1/admin/orders?status=lost&limit=0');
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(bad.json.errors.map((e: { path: string }) => e.path).sort()).toEqual(['query.limit', 'query.status']);
    expect((await client(sys.base)('GET', '/v1/admin/orders')).status).toBe(401);
    expect((await client(sys.base, { bearer: acme.apiKey })('GET', '/v1/admin/orders')).status).toBe(401);
  });
});
