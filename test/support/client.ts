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

export async function createShop(base: string, name = 'Shop'): Promise<{ id: string; apiKey: string; webhookSecret: string; call: Client }> {
  const r = await client(base, { basic: ADMIN })('POST', '/v1/admin/shops', { name });
  if (r.status !== 201) throw new Error(`create shop: ${r.status} ${r.text}`);
  return { ...r.json, call: client(base, { bearer: r.json.apiKey }) };
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

/** Polls `GET /v1/orders/{id}` until its status is one of `want`. */
export async function waitForStatus(call: Client, id: string, want: string[], ms = 20_000): Promise<any> {
  const t0 = Date.now();
  let last: Reply | undefined;
  while (Date.now() - t0 < ms) {
    last = await call('GET', `/v1/orders/${id}`);
    if (last.status === 200 && want.includes(last.json.status)) return last.json;
    await sleep(100);
  }
  throw new Error(`order ${id} not in ${want.join('|')} after ${ms} ms: ${last?.text}`);
}
