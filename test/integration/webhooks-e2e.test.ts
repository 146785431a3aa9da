import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client, orderBody, waitForStatus } from '../support/client.js';
import { ADMIN, startSystem, type TestSystem } from '../support/system.js';
import { startSink, verifyAsShop } from '../support/webhook-sink.js';
import { sleep } from '../support/processes.js';

let sys: TestSystem;
let sink: Awaited<ReturnType<typeof startSink>>;

beforeAll(async () => {
  sink = await startSink();
  sys = await startSystem({ env: { TRACKING_REFRESH_EVERY_MS: '300', WEBHOOK_RETRY_BASE_MS: '50', WEBHOOK_ALLOW_PRIVATE_NETWORKS: '1' } });
});
afterAll(async () => {
  await sys?.close();
  sink?.close();
});

async function shopWithHook() {
  const r = await client(sys.base, { basic: ADMIN })('POST', '/v1/admin/shops', { name: 'Hooked', webhookUrl: sink.url });
  expect(r.status).toBe(201);
  return { ...r.json, call: client(sys.base, { bearer: r.json.apiKey }) } as { id: string; webhookSecret: string; call: ReturnType<typeof client> };
}

const eventsOf = (orderId: string) =>
  sink.hits.map((h) => ({ hit: h, body: JSON.parse(h.body) })).filter((e) => e.body.data.order.id === orderId);

async function waitForEvents(orderId: string, n: number, ms = 20_000) {
  const t0 = Date.now();
  while (eventsOf(orderId).length < n && Date.now() - t0 < ms) await sleep(100);
  return eventsOf(orderId);
}

describe('webhooks to shops, end to end', () => {
  it('tells the shop every step of an order, signed and in order, from placed to delivered', async () => {
    const shop = await shopWithHook();
    await shop.call('PUT', '/v1/products/W', { name: 'W', priceMinor: 700, currency: 'CNY', stock: 10 });
    const r = await shop.call('POST', '/v1/orders', orderBody([{ sku: 'W', quantity: 1 }]), { 'idempotency-key': 'w-1' });
    await waitForStatus(shop.call, r.json.id, ['paid']);
    await shop.call('POST', `/v1/orders/${r.json.id}/shipments`, { carrier: 'sandbox', trackingNumber: 'SBX-WH-1' });
    await waitForStatus(shop.call, r.json.id, ['delivered'], 20_000);
    const events = await waitForEvents(r.json.id, 8);
    // One shipment.updated per poll that found news: info_received (first poll), in transit, out for delivery, delivered.
    expect(events.map((e) => e.body.type)).toEqual([
      'order.placed', 'order.paid', 'order.shipped', 'shipment.updated', 'shipment.updated', 'shipment.updated', 'shipment.updated', 'order.delivered',
    ]);
    for (const { hit, body } of events) {
      expect(verifyAsShop(shop.webhookSecret, hit.body, hit.headers['orderworks-signature'])).toBe(true);
      expect(body).toMatchObject({ id: expect.any(String), createdAt: expect.any(String), data: { order: { id: r.json.id } } });
    }
    expect(new Set(events.map((e) => e.body.id)).size).toBe(events.length);
    expect(events.at(-1)!.body.data.order.status).toBe('delivered');
    const log = await shop.call('GET', '/v1/webhook-deliveries?limit=50');
    expect(log.status).toBe(200);
    expect(log.json.data.filter((d: { orderId: string }) => d.orderId === r.json.id).length).toBeGreaterThanOrEqual(8);
  });

  it('tells the shop about rejections, payment failures, cancellations and refunds', async () => {
    const shop = await shopWithHook();
    await shop.call('PUT', '/v1/products/V', { name: 'V', priceMinor: 1000, currency: 'CNY', stock: 10 });
    const rejected = await shop.call('POST', '/v1/orders', orderBody([{ sku: 'NOPE', quantity: 1 }]), { 'idempotency-key': 'v-1' });
    const declined = await shop.call('POST', '/v1/orders', orderBody([{ sku: 'V', quantity: 1 }], { payment: { method: 'card', token: 'tok_decline' } }), { 'idempotency-key': 'v-2' });
    const refunded = await shop.call('POST', '/v1/orders', orderBody([{ sku: 'V', quantity: 1 }]), { 'idempotency-key': 'v-3' });
    await waitForStatus(shop.call, refunded.json.id, ['paid']);
    await shop.call('POST', `/v1/orders/${refunded.json.id}/refunds`, { amountMinor: 1000 }, { 'idempotency-key': 'rf' });
    const cancelled = await shop.call('POST', '/v1/orders', orderBody([{ sku: 'V', quantity: 1 }]), { 'idempotency-key': 'v-4' });
    await waitForStatus(shop.call, cancelled.json.id, ['paid']);
    await shop.call('POST', `/v1/orders/${cancelled.json.id}/cancel`);
    expect((await waitForEvents(rejected.json.id, 1)).map((e) => e.body.type)).toEqual(['order.rejected']);
    expect((await waitForEvents(declined.json.id, 2)).map((e) => e.body.type)).toEqual(['order.placed', 'order.payment_failed']);
    expect((await waitForEvents(refunded.json.id, 3)).map((e) => e.body.type)).toEqual(['order.placed', 'order.paid', 'order.refunded']);
    expect((await waitForEvents(cancelled.json.id, 4)).map((e) => e.body.type)).toEqual(['order.placed', 'order.paid', 'order.cancelled', 'order.refunded']);
  });

  it('refuses a webhook URL on a private network when private networks are not allowed', async () => {
    const strict = await startSystem({ workers: false, env: { WEBHOOK_ALLOW_PRIVATE_NETWORKS: '0' } });
    try {
      const r = await client(strict.base, { basic: ADMIN })('POST', '/v1/admin/shops', { name: 'x', webhookUrl: 'http://127.0.0.1:9/hook' });
      expect(r.status).toBe(400);
      expect(r.json.errors[0].path).toBe('webhookUrl');
    } finally {
      await strict.close();
    }
  });
});
