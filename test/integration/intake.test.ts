import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client, createShop, orderBody, waitForAll, waitForStatus, type Client } from '../support/client.js';
import { startSystem, type TestSystem } from '../support/system.js';

let sys: TestSystem;
let A: Client;
let B: Client;

beforeAll(async () => {
  // Placement only: these tests look at orders as they stop at `placed` (payments have their own tests).
  sys = await startSystem({ env: { WORKER_QUEUES: 'order-placement,maintenance' } });
  A = (await createShop(sys.base, 'Shop A')).call;
  B = (await createShop(sys.base, 'Shop B')).call;
  expect((await A('PUT', '/v1/products/TEA-1', { name: 'Tea', priceMinor: 2500, currency: 'CNY', stock: 100 })).status).toBe(201);
  expect((await A('PUT', '/v1/products/USD-1', { name: 'Import', priceMinor: 999, currency: 'USD', stock: 5 })).status).toBe(201);
});
afterAll(() => sys?.close());

const post = (call: Client, body: unknown, key?: string) =>
  call('POST', '/v1/orders', body, key === undefined ? {} : { 'idempotency-key': key });

describe('products', () => {
  it('creates, updates and reads back a product; another shop cannot see it', async () => {
    expect((await A('PUT', '/v1/products/P-1', { name: 'P', priceMinor: 100, currency: 'CNY', stock: 3 })).status).toBe(201);
    const updated = await A('PUT', '/v1/products/P-1', { name: 'P2', priceMinor: 150, currency: 'CNY', stock: 4 });
    expect(updated.status).toBe(200);
    expect((await A('GET', '/v1/products/P-1')).json).toEqual({ sku: 'P-1', name: 'P2', priceMinor: 150, currency: 'CNY', stock: 4, reserved: 0 });
    expect((await B('GET', '/v1/products/P-1')).status).toBe(404);
  });

  it('names each bad field of a product', async () => {
    const r = await A('PUT', '/v1/products/P-2', { name: '', priceMinor: 1.5, currency: 'yuan', stock: -1 });
    expect(r.status).toBe(400);
    expect(r.headers.get('content-type')).toContain('application/problem+json');
    expect(r.json.errors.map((e: { path: string }) => e.path).sort()).toEqual(['currency', 'name', 'priceMinor', 'stock']);
  });
});

describe('POST /v1/orders', () => {
  it('accepts an order with 202 and Location, and places it priced from the catalog', async () => {
    const r = await post(A, orderBody([{ sku: 'TEA-1', quantity: 2 }]), 'place-1');
    expect(r.status).toBe(202);
    expect(r.json.status).toBe('received');
    expect(r.headers.get('location')).toBe(`/v1/orders/${r.json.id}`);
    const placed = await waitForStatus(A, r.json.id, ['placed']);
    expect(placed.totalMinor).toBe(5000);
    expect(placed.items).toEqual([{ sku: 'TEA-1', quantity: 2, unitPriceMinor: 2500, lineTotalMinor: 5000 }]);
    expect(placed.payment).toMatchObject({ method: 'alipay', status: 'pending', capturedMinor: 0 });
    expect(placed).not.toHaveProperty('shopId');
    expect(JSON.stringify(placed)).not.toContain('tok_ok');
  });

  it('replays the same key and body as the same order, creating nothing', async () => {
    const body = orderBody([{ sku: 'TEA-1', quantity: 1 }]);
    const first = await post(A, body, 'replay-1');
    const again = await Promise.all([post(A, body, 'replay-1'), post(A, body, 'replay-1')]);
    expect(again.map((r) => [r.status, r.json.id])).toEqual([[202, first.json.id], [202, first.json.id]]);
    // Key order in the JSON does not make it another body.
    const reordered = Object.fromEntries(Object.entries(body).reverse());
    expect((await post(A, reordered, 'replay-1')).json.id).toBe(first.json.id);
    const list = await A('GET', '/v1/orders?limit=100');
    expect(list.json.data.filter((o: { externalId: string }) => o.externalId === body.externalId)).toHaveLength(1);
  });

  it('answers 409 for the same key with another body', async () => {
    const body = orderBody([{ sku: 'TEA-1', quantity: 1 }]);
    expect((await post(A, body, 'reuse-1')).status).toBe(202);
    const r = await post(A, { ...body, externalId: 'other' }, 'reuse-1');
    expect(r.status).toBe(409);
    expect(r.headers.get('content-type')).toContain('application/problem+json');
  });

  it('keeps idempotency keys per shop', async () => {
    const a = await post(A, orderBody([{ sku: 'TEA-1', quantity: 1 }]), 'shared-key');
    const b = await post(B, orderBody([{ sku: 'TEA-1', quantity: 1 }]), 'shared-key');
    expect(b.status).toBe(202);
    expect(b.json.id).not.toBe(a.json.id);
    // Shop B has no TEA-1: its own catalog decides.
    expect((await waitForStatus(B, b.json.id, ['rejected'])).statusReason).toBe('unknown_sku');
  });

  it('answers 404 for another shop\'s order and for ids that are not ids', async () => {
    const a = await post(A, orderBody([{ sku: 'TEA-1', quantity: 1 }]), 'mine-1');
    expect((await B('GET', `/v1/orders/${a.json.id}`)).status).toBe(404);
    expect((await A('GET', '/v1/orders/not-an-id')).status).toBe(404);
    expect((await A('GET', "/v1/orders/1'%20OR%20'1'='1")).status).toBe(404);
  });

  it('rejects with a reason: unknown sku, currency mismatch, out of stock', async () => {
    const unknown = await post(A, orderBody([{ sku: "'; drop table orders; --", quantity: 1 }]), 'rej-1');
    expect(unknown.status).toBe(202);
    expect((await waitForStatus(A, unknown.json.id, ['rejected'])).statusReason).toBe('unknown_sku');
    const mismatch = await post(A, orderBody([{ sku: 'USD-1', quantity: 1 }]), 'rej-2');
    expect((await waitForStatus(A, mismatch.json.id, ['rejected'])).statusReason).toBe('currency_mismatch');
    const tooMany = await post(A, orderBody([{ sku: 'TEA-1', quantity: 1 }, { sku: 'USD-1', quantity: 1 }], { currency: 'USD' }), 'rej-3');
    expect((await waitForStatus(A, tooMany.json.id, ['rejected'])).statusReason).toBe('currency_mismatch');
    const oos = await post(A, orderBody([{ sku: 'TEA-1', quantity: 10_000 }]), 'rej-4');
    expect((await waitForStatus(A, oos.json.id, ['rejected'])).statusReason).toBe('out_of_stock');
  });

  it('reserves all lines or none', async () => {
    await A('PUT', '/v1/products/AON-1', { name: 'a', priceMinor: 10, currency: 'CNY', stock: 5 });
    await A('PUT', '/v1/products/AON-2', { name: 'b', priceMinor: 10, currency: 'CNY', stock: 1 });
    const r = await post(A, orderBody([{ sku: 'AON-1', quantity: 2 }, { sku: 'AON-2', quantity: 2 }]), 'aon-1');
    expect((await waitForStatus(A, r.json.id, ['rejected'])).statusReason).toBe('out_of_stock');
    expect((await A('GET', '/v1/products/AON-1')).json).toMatchObject({ stock: 5, reserved: 0 });
    expect((await A('GET', '/v1/products/AON-2')).json).toMatchObject({ stock: 1, reserved: 0 });
    const ok = await post(A, orderBody([{ sku: 'AON-1', quantity: 2 }, { sku: 'AON-2', quantity: 1 }, { sku: 'AON-1', quantity: 1 }]), 'aon-2');
    expect((await waitForStatus(A, ok.json.id, ['placed'])).totalMinor).toBe(40);
    expect((await A('GET', '/v1/products/AON-1')).json).toMatchObject({ stock: 2, reserved: 3 });
    expect((await A('GET', '/v1/products/AON-2')).json).toMatchObject({ stock: 0, reserved: 1 });
  });
});

describe('bad input', () => {
  const cases: Array<[string, unknown, string[]]> = [
    ['empty items', orderBody([]), ['items']],
    ['negative quantity', orderBody([{ sku: 'TEA-1', quantity: -1 }]), ['items.0.quantity']],
    ['fractional quantity', orderBody([{ sku: 'TEA-1', quantity: 1.5 }]), ['items.0.quantity']],
    ['unknown payment method', orderBody([{ sku: 'TEA-1', quantity: 1 }], { payment: { method: 'bitcoin', token: 'x' } }), ['payment.method']],
    ['bad currency', orderBody([{ sku: 'TEA-1', quantity: 1 }], { currency: 'XXXX' }), ['currency']],
    ['array body', [1, 2, 3], ['(body)']],
    ['unknown field', orderBody([{ sku: 'TEA-1', quantity: 1 }], { coupon: 'FREE' }), ['(body)']],
    ['bad email and country', orderBody([{ sku: 'TEA-1', quantity: 1 }], {
      customer: { name: 'x', email: 'nope' },
      shippingAddress: { name: 'x', line1: 'y', city: 'z', postalCode: '1', country: 'China' },
    }), ['customer.email', 'shippingAddress.country']],
  ];
  it.each(cases)('%s -> 400 naming the field', async (_name, body, paths) => {
    const r = await post(A, body, `bad-${_name}`);
    expect(r.status).toBe(400);
    expect(r.headers.get('content-type')).toContain('application/problem+json');
    expect(r.json).toMatchObject({ status: 400, title: 'Bad Request' });
    for (const p of paths) expect(r.json.errors.map((e: { path: string }) => e.path)).toContain(p);
  });

  it('malformed JSON -> 400, not JSON -> 415, huge -> 413, no key -> 400; nothing stored', async () => {
    const before = (await A('GET', '/v1/orders?limit=100')).json.data.length;
    expect((await A('POST', '/v1/orders', '{not json', { 'idempotency-key': 'm-1' })).status).toBe(400);
    expect((await A('POST', '/v1/orders', 'a=b', { 'idempotency-key': 'm-2', 'content-type': 'application/x-www-form-urlencoded' })).status).toBe(415);
    const huge = await post(A, orderBody([{ sku: 'TEA-1', quantity: 1 }], { pad: 'x'.repeat(5_000_000) }), 'm-3');
    expect(huge.status).toBe(413);
    expect(huge.headers.get('content-type')).toContain('application/problem+json');
    const noKey = await post(A, orderBody([{ sku: 'TEA-1', quantity: 1 }]));
    expect(noKey.status).toBe(400);
    expect(noKey.json.errors[0].path).toBe('header.Idempotency-Key');
    expect((await post(A, orderBody([{ sku: 'TEA-1', quantity: 1 }]), 'x'.repeat(256))).status).toBe(400);
    expect((await A('GET', '/v1/orders?limit=100')).json.data.length).toBe(before);
  });

  it('refuses missing and wrong credentials with 401', async () => {
    const anon = client(sys.base);
    expect((await post(anon, orderBody([{ sku: 'TEA-1', quantity: 1 }]), 'x')).status).toBe(401);
    expect((await client(sys.base, { bearer: 'nope' })('GET', '/v1/orders')).status).toBe(401);
    expect((await client(sys.base, { basic: { user: 'ops', password: 'wrong' } })('POST', '/v1/admin/shops', { name: 'x' })).status).toBe(401);
    expect((await anon('GET', '/admin/queues')).status).toBe(401);
    expect((await client(sys.base, { basic: { user: 'ops', password: 'ops-secret-pw' } })('GET', '/admin/queues')).status).toBe(200);
  });

  it('answers problem+json 404 for unknown routes and 400 for bad list queries', async () => {
    const r = await A('GET', '/v1/nothing-here');
    expect(r.status).toBe(404);
    expect(r.headers.get('content-type')).toContain('application/problem+json');
    expect((await A('GET', '/v1/orders?limit=0')).status).toBe(400);
    expect((await A('GET', '/v1/orders?status=lost')).status).toBe(400);
    expect((await A('GET', '/v1/orders?cursor=abc')).status).toBe(400);
  });
});

describe('GET /v1/orders', () => {
  it('pages newest first with a cursor, filtered by status', async () => {
    const shop = await createShop(sys.base, 'Pager');
    await shop.call('PUT', '/v1/products/X', { name: 'x', priceMinor: 1, currency: 'CNY', stock: 1000 });
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push((await post(shop.call, orderBody([{ sku: 'X', quantity: 1 }]), `page-${i}`)).json.id);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: any = (await shop.call('GET', `/v1/orders?limit=3${cursor ? `&cursor=${cursor}` : ''}`)).json;
      seen.push(...page.data.map((o: { id: string }) => o.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual([...ids].reverse());
    await waitForAll(shop.call, ids, ['placed']);
    const placed = (await shop.call('GET', '/v1/orders?status=placed&limit=50')).json.data;
    expect(placed).toHaveLength(7);
    expect((await shop.call('GET', '/v1/orders?status=rejected')).json).toEqual({ data: [], nextCursor: null });
  });
});

describe('health', () => {
  it('is live and ready', async () => {
    expect((await fetch(`${sys.base}/healthz`)).status).toBe(200);
    const ready = await fetch(`${sys.base}/readyz`);
    expect(ready.status).toBe(200);
  });
});
