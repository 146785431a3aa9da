import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client, createShop, orderBody, waitForStatus, type Client } from '../support/client.js';
import { startSystem, type TestSystem } from '../support/system.js';

const METHODS = ['alipay', 'wechat_pay', 'paypal', 'card'] as const;
const FINAL = ['paid', 'payment_failed', 'rejected', 'cancelled', 'refunded'];

let sys: TestSystem;
let shop: Client;
const ledger = async (orderId: string) => (await client(sys.base)('GET', `/sandbox/charges?reference=${orderId}`)).json.data as Array<{ amountMinor: number; status: string; refundedMinor: number }>;
const order = (token: string, method: string, key: string, quantity = 2) =>
  shop('POST', '/v1/orders', orderBody([{ sku: 'TEA', quantity }], { payment: { method, token } }), { 'idempotency-key': key });
const eventually = async <T>(read: () => Promise<T>, ok: (v: T) => boolean, ms = 15_000): Promise<T> => {
  const t0 = Date.now();
  let v = await read();
  while (!ok(v) && Date.now() - t0 < ms) {
    await new Promise((r) => setTimeout(r, 100));
    v = await read();
  }
  return v;
};

beforeAll(async () => {
  sys = await startSystem();
  shop = (await createShop(sys.base)).call;
  await shop('PUT', '/v1/products/TEA', { name: 'Tea', priceMinor: 1250, currency: 'CNY', stock: 1000 });
});
afterAll(() => sys?.close());

describe('every method and token script ends as the contract says', () => {
  const cases = METHODS.flatMap((m) => (['tok_ok', 'tok_decline', 'tok_flaky', 'tok_timeout'] as const).map((t) => [m, t] as const));
  it.each(cases)('%s %s', async (method, token) => {
    const before = (await shop('GET', '/v1/products/TEA')).json;
    const r = await order(token, method, `${method}-${token}`);
    expect(r.status).toBe(202);
    const o = await waitForStatus(shop, r.json.id, FINAL, 30_000);
    const charges = await ledger(o.id);
    if (token === 'tok_decline') {
      expect(o).toMatchObject({ status: 'payment_failed', statusReason: 'payment_declined', payment: { status: 'failed', capturedMinor: 0 } });
      // Nothing charged; a PayPal order the shop's page created stays on the provider's books, open.
      expect(charges.filter((c) => c.status !== 'pending' || c.amountMinor !== 0)).toEqual([]);
      // The stock held for it is back on sale.
      const after = await eventually(() => shop('GET', '/v1/products/TEA'), (p) => p.json.reserved === before.reserved);
      expect(after.json.reserved).toBe(before.reserved);
    } else {
      expect(o).toMatchObject({ status: 'paid', payment: { method, status: 'captured', capturedMinor: 2500, refundedMinor: 0 } });
      expect(o.payment.providerReference).toEqual(expect.any(String));
      expect(charges).toHaveLength(1);
      expect(charges[0]).toMatchObject({ amountMinor: 2500, status: 'captured' });
      if (token === 'tok_flaky') expect(o.payment.attempts).toBe(3);
    }
  });

  it('moves stock from reserved to sold on payment', async () => {
    await shop('PUT', '/v1/products/CUP', { name: 'Cup', priceMinor: 300, currency: 'CNY', stock: 5 });
    const r = await shop('POST', '/v1/orders', orderBody([{ sku: 'CUP', quantity: 2 }]), { 'idempotency-key': 'cup-1' });
    await waitForStatus(shop, r.json.id, ['paid']);
    expect((await shop('GET', '/v1/products/CUP')).json).toMatchObject({ stock: 3, reserved: 0 });
  });
});

describe('refunds', () => {
  it('adds partial refunds up to the captured amount, once each, and 409s past it', async () => {
    const r = await order('tok_ok', 'wechat_pay', 'refund-1');
    const id = r.json.id;
    await waitForStatus(shop, id, ['paid']);
    const refund = (key: string, amountMinor: number) => shop('POST', `/v1/orders/${id}/refunds`, { amountMinor, reason: 'damaged' }, { 'idempotency-key': key });
    const a = await refund('rf-a', 1000);
    expect(a.status).toBe(202);
    expect(a.json).toMatchObject({ orderId: id, amountMinor: 1000, currency: 'CNY', status: 'pending' });
    const replay = await refund('rf-a', 1000);
    expect(replay.json.id).toBe(a.json.id);
    expect((await refund('rf-a', 999)).status).toBe(409);
    expect((await refund('rf-b', 1600)).status).toBe(409);
    expect((await refund('rf-c', 1500)).status).toBe(202);
    expect((await refund('rf-d', 1)).status).toBe(409);
    const done = await eventually(() => shop('GET', `/v1/orders/${id}`), (o) => o.json.payment.refundedMinor === 2500);
    expect(done.json).toMatchObject({ status: 'refunded', payment: { status: 'refunded', capturedMinor: 2500, refundedMinor: 2500 } });
    expect(await ledger(id)).toEqual([expect.objectContaining({ amountMinor: 2500, refundedMinor: 2500, status: 'refunded' })]);
  });

  it('reports a partial refund as partially_refunded and keeps the order paid', async () => {
    const r = await order('tok_ok', 'card', 'refund-2');
    await waitForStatus(shop, r.json.id, ['paid']);
    await shop('POST', `/v1/orders/${r.json.id}/refunds`, { amountMinor: 500 }, { 'idempotency-key': 'rf-2' });
    const o = await eventually(() => shop('GET', `/v1/orders/${r.json.id}`), (x) => x.json.payment.refundedMinor === 500);
    expect(o.json).toMatchObject({ status: 'paid', payment: { status: 'partially_refunded', refundedMinor: 500 } });
  });

  it('refuses bad refunds with a clear error', async () => {
    const r = await order('tok_decline', 'alipay', 'refund-3');
    await waitForStatus(shop, r.json.id, ['payment_failed']);
    expect((await shop('POST', `/v1/orders/${r.json.id}/refunds`, { amountMinor: 1 }, { 'idempotency-key': 'rf-3' })).status).toBe(409);
    const bad = await shop('POST', `/v1/orders/${r.json.id}/refunds`, { amountMinor: -5 });
    expect(bad.status).toBe(400);
    expect(bad.json.errors.map((e: { path: string }) => e.path).sort()).toEqual(['amountMinor', 'header.Idempotency-Key']);
    expect((await shop('POST', '/v1/orders/00000000-0000-7000-8000-000000000000/refunds', { amountMinor: 1 }, { 'idempotency-key': 'x' })).status).toBe(404);
  });
});

describe('cancel', () => {
  it('cancels a paid order: stock back on sale, the payment refunded in full', async () => {
    await shop('PUT', '/v1/products/MUG', { name: 'Mug', priceMinor: 800, currency: 'CNY', stock: 4 });
    const r = await shop('POST', '/v1/orders', orderBody([{ sku: 'MUG', quantity: 3 }], { payment: { method: 'paypal', token: 'tok_ok' } }), { 'idempotency-key': 'cancel-1' });
    await waitForStatus(shop, r.json.id, ['paid']);
    expect((await shop('GET', '/v1/products/MUG')).json).toMatchObject({ stock: 1, reserved: 0 });
    const c = await shop('POST', `/v1/orders/${r.json.id}/cancel`);
    expect(c.status).toBe(202);
    expect(c.json.status).toBe('cancelled');
    expect((await shop('GET', '/v1/products/MUG')).json).toMatchObject({ stock: 4, reserved: 0 });
    const o = await eventually(() => shop('GET', `/v1/orders/${r.json.id}`), (x) => x.json.payment.refundedMinor === 2400);
    expect(o.json).toMatchObject({ status: 'cancelled', payment: { status: 'refunded', refundedMinor: 2400 } });
    expect((await ledger(r.json.id))[0]).toMatchObject({ refundedMinor: 2400, status: 'refunded' });
    // Cancelling again changes nothing and refunds nothing more.
    expect((await shop('POST', `/v1/orders/${r.json.id}/cancel`)).status).toBe(202);
    expect((await ledger(r.json.id))[0]!.refundedMinor).toBe(2400);
  });

  it('409s for an order that already ended', async () => {
    const r = await order('tok_decline', 'card', 'cancel-2');
    await waitForStatus(shop, r.json.id, ['payment_failed']);
    const c = await shop('POST', `/v1/orders/${r.json.id}/cancel`);
    expect(c.status).toBe(409);
    expect(c.headers.get('content-type')).toContain('application/problem+json');
  });
});

describe('provider notifications', () => {
  it('refuses a notification whose signature does not verify, without a 500', async () => {
    const anon = client(sys.base);
    for (const method of METHODS) {
      const r = await anon('POST', `/v1/payments/notify/${method}`, '{"id":"evt_1","forged":true}', { 'content-type': 'application/json' });
      expect(r.status, method).toBe(400);
      expect(r.headers.get('content-type')).toContain('application/problem+json');
    }
    expect((await anon('POST', '/v1/payments/notify/bitcoin', '{}')).status).toBe(404);
  });
});
