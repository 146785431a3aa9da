import { randomUUID } from 'node:crypto';
import { ADMIN } from './system.js';

export interface Reply<T = any> {
  status: number;
  json: T;
  text: string;
  headers: Headers;
}

/** A shop's or an operator's HTTP client, as a user would call the API. */
export function client(base: string, auth?: { bearer?: string; basic?: { user: string; password: string } }) {
  return async function call<T = any>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply<T>> {
    const h: Record<string, string> = { ...headers };
    if (auth?.bearer) h.authorization = `Bearer ${auth.bearer}`;
    if (auth?.basic) h.authorization = `Basic ${Buffer.from(`${auth.basic.user}:${auth.basic.password}`).toString('base64')}`;
    if (body !== undefined && !h['content-type']) h['content-type'] = 'application/json';
    const res = await fetch(base + path, { method, headers: h, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
    const text = await res.text();
    let json: any;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, json, text, headers: res.headers };
  };
}
export type Client = ReturnType<typeof client>;

export async function createShop(base: string, name = 'Shop', webhookUrl?: string): Promise<{ id: string; apiKey: string; webhookSecret: string; call: Client }> {
  const r = await client(base, { basic: ADMIN })('POST', '/v1/admin/shops', webhookUrl ? { name, webhookUrl } : { name });
  if (r.status !== 201) throw new Error(`create shop: ${r.status} ${r.text}`);
  return { ...r.json, call: client(base, { bearer: r.json.apiKey }) };
}

/** A shop (its webhooks to `webhookUrl`, if given) selling BOX at 100 CNY minor, 10 of them: the parcel tests' shop. */
export async function boxShop(base: string, name: string, webhookUrl?: string): Promise<Client> {
  const shop = await createShop(base, name, webhookUrl);
  await shop.call('PUT', '/v1/products/BOX', { name: 'Box', priceMinor: 100, currency: 'CNY', stock: 10 });
  return shop.call;
}

/** A shop (its webhooks to `webhookUrl`) selling TEA at 1,250 and CUP at 300 CNY minor, 100 of each. */
export async function teaAndCupShop(base: string, name: string, webhookUrl: string) {
  const shop = await createShop(base, name, webhookUrl);
  await shop.call('PUT', '/v1/products/TEA', { name: 'Tea', priceMinor: 1_250, currency: 'CNY', stock: 100 });
  await shop.call('PUT', '/v1/products/CUP', { name: 'Cup', priceMinor: 300, currency: 'CNY', stock: 100 });
  return shop;
}

export function orderBody(items: Array<{ sku: string; quantity: number }>, overrides: Record<string, unknown> = {}) {
  return {
    externalId: `ext-${Math.random().toString(36).slice(2)}`,
    currency: 'CNY',
    items,
    customer: { name: 'Li Lei', email: 'li@example.com', phone: '+8613800000000' },
    shippingAddress: { name: 'Li Lei', line1: '1 Nanjing Rd', city: 'Shanghai', postalCode: '200001', country: 'CN' },
    payment: { method: 'alipay', token: 'tok_ok' },
    ...overrides,
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Polls `GET /v1/orders/{id}` until its status is one of `want`. Bounded by progress, not by the clock: it gives
 * up only once the order has shown no change at all (status, payment, shipments, timestamps) for `quietMs`, so a
 * busy machine that moves the order slowly still passes, and an order that stopped moving fails with what it
 * last showed. `quietMs` must exceed the longest timer the order waits on (a hold's expiry, a backoff).
 */
export async function waitForStatus(call: Client, id: string, want: string[], quietMs = 20_000): Promise<any> {
  const [order] = await waitForAll(call, [id], want, quietMs);
  return order;
}

/** `waitForStatus` for any condition on the order (`what` names it in the failure), bounded by progress the same way. */
export async function waitForOrder(call: Client, id: string, until: (order: any) => boolean, what: string, quietMs = 20_000): Promise<any> {
  const [order] = await waitUntil(call, [id], until, what, quietMs);
  return order;
}

/** `waitForStatus` for many orders at once: any order's change counts as progress for all of them. */
export function waitForAll(call: Client, ids: string[], want: string[], quietMs = 20_000): Promise<any[]> {
  return waitUntil(call, ids, (o) => want.includes(o.status), want.join('|'), quietMs);
}

async function waitUntil(call: Client, ids: string[], until: (order: any) => boolean, what: string, quietMs: number): Promise<any[]> {
  const seen = new Map<string, string>();
  const done = new Map<string, any>();
  let movedAt = Date.now();
  for (;;) {
    for (const id of ids.filter((i) => !done.has(i))) {
      const r = await call('GET', `/v1/orders/${id}`);
      if (r.status !== 200) continue;
      if (seen.get(id) !== r.text) movedAt = Date.now();
      seen.set(id, r.text);
      if (until(r.json)) done.set(id, r.json);
    }
    if (done.size === ids.length) return ids.map((id) => done.get(id));
    if (Date.now() - movedAt > quietMs) {
      const waiting = ids.filter((i) => !done.has(i));
      throw new Error(`${waiting.length} of ${ids.length} orders not ${what}, none changed for ${quietMs} ms: ${seen.get(waiting[0]!) ?? 'never read'}`);
    }
    await sleep(100);
  }
}

/** A paid order of one `sku` (stocked by the caller), paid at once with a sandbox token. */
export async function paidOrder(call: Client, sku = 'BOX'): Promise<string> {
  const r = await call('POST', '/v1/orders', orderBody([{ sku, quantity: 1 }]), { 'idempotency-key': `paid-${randomUUID()}` });
  if (r.status !== 202) throw new Error(`order: ${r.status} ${r.text}`);
  return (await waitForStatus(call, r.json.id, ['paid'])).id;
}
