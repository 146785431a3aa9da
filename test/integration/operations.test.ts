import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client, createShop, orderBody, waitForStatus } from '../support/client.js';
import { startSystem, type TestSystem } from '../support/system.js';

let sys: TestSystem;
const VIEWER = { user: 'watcher', password: 'watcher-secret' };

beforeAll(async () => {
  sys = await startSystem({ env: { ADMIN_VIEWER_USER: VIEWER.user, ADMIN_VIEWER_PASSWORD: VIEWER.password } });
});
afterAll(() => sys?.close());

const metric = (text: string, name: string, labels: Record<string, string>) => {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && want.every((w) => l.includes(w)));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : undefined;
};

describe('GET /metrics', () => {
  it('reports queues, jobs, orders and HTTP latency per route after traffic', async () => {
    const shop = (await createShop(sys.base)).call;
    await shop('PUT', '/v1/products/M', { name: 'M', priceMinor: 10, currency: 'CNY', stock: 10 });
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await shop('POST', '/v1/orders', orderBody([{ sku: 'M', quantity: 1 }]), { 'idempotency-key': `m-${i}` })).json.id);
    const bad = await shop('POST', '/v1/orders', orderBody([{ sku: 'M', quantity: 1 }], { payment: { method: 'card', token: 'tok_decline' } }), { 'idempotency-key': 'm-bad' });
    await Promise.all(ids.map((id) => waitForStatus(shop, id, ['paid'])));
    await waitForStatus(shop, bad.json.id, ['payment_failed']);
    await shop('GET', `/v1/orders/${ids[0]}`);

    const res = await fetch(`${sys.base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    expect(metric(text, 'orderworks_orders', { status: 'paid' })).toBe(3);
    expect(metric(text, 'orderworks_orders', { status: 'payment_failed' })).toBe(1);
    for (const q of ['order-placement', 'payment-capture', 'payment-refund', 'tracking-poll', 'maintenance']) {
      for (const state of ['waiting', 'active', 'delayed', 'failed']) expect(metric(text, 'orderworks_queue_jobs', { queue: q, state })).toEqual(expect.any(Number));
    }
    expect(metric(text, 'orderworks_jobs_total', { queue: 'order-placement', outcome: 'completed' })).toBeGreaterThanOrEqual(4);
    expect(metric(text, 'orderworks_jobs_total', { queue: 'payment-capture', outcome: 'completed' })).toBeGreaterThanOrEqual(4);
    expect(metric(text, 'orderworks_job_duration_seconds_count', { queue: 'order-placement', outcome: 'completed' })).toBeGreaterThanOrEqual(4);
    expect(metric(text, 'orderworks_http_request_duration_seconds_count', { method: 'POST', route: '/v1/orders', status: '202' })).toBe(4);
    expect(metric(text, 'orderworks_http_request_duration_seconds_count', { method: 'GET', route: '/v1/orders/:id', status: '200' })).toBeGreaterThanOrEqual(1);
    expect(text).toContain('orderworks_webhook_deliveries');
    expect(text).not.toContain(ids[0]);
  });
});

describe('operators', () => {
  it('gives every response a request id, echoing a sane one', async () => {
    const r = await fetch(`${sys.base}/healthz`, { headers: { 'x-request-id': 'trace-123' } });
    expect(r.headers.get('x-request-id')).toBe('trace-123');
    const fresh = await fetch(`${sys.base}/healthz`, { headers: { 'x-request-id': 'bad id with spaces' } });
    expect(fresh.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('lets a viewer read the dashboard but not act on it', async () => {
    const admin = client(sys.base, { basic: { user: 'ops', password: 'ops-secret-pw' } });
    const viewer = client(sys.base, { basic: VIEWER });
    expect((await viewer('GET', '/admin/queues')).status).toBe(200);
    const queues = await viewer('GET', '/admin/queues/api/queues');
    expect(queues.status).toBe(200);
    expect(queues.json.queues.every((q: { readOnlyMode: boolean }) => q.readOnlyMode)).toBe(true);
    expect((await admin('GET', '/admin/queues/api/queues')).json.queues.some((q: { readOnlyMode: boolean }) => !q.readOnlyMode)).toBe(true);
    // Acting is refused for the viewer (Bull Board answers 405 for read-only queues).
    const pause = await viewer('PUT', '/admin/queues/api/queues/order-placement/pause');
    expect(pause.status).toBeGreaterThanOrEqual(400);
    // The viewer cannot create shops.
    expect((await viewer('POST', '/v1/admin/shops', { name: 'x' })).status).toBe(401);
    expect((await client(sys.base, { basic: { user: 'watcher', password: 'nope-nope' } })('GET', '/admin/queues')).status).toBe(401);
  });
});
