import { randomBytes } from 'node:crypto';
import { apiClient, DemoError, expectStatus, type Call } from './demo-api.js';
import type { DemoOptions } from './demo-options.js';

/** The simulated upstream shop: its catalog, and the orders its customers place. */

export interface DemoShop {
  call: Call;
  /** Tells this run's orders, parcels and idempotency keys apart from any earlier run's. */
  run: string;
  hotSku: string;
  hotStock: number;
}

const SKUS = [
  { sku: 'TEA-JASMINE', name: 'Jasmine tea', priceMinor: 1999 },
  { sku: 'TEA-OOLONG', name: 'Tieguanyin oolong', priceMinor: 4800 },
  { sku: 'CUP-CELADON', name: 'Celadon cup', priceMinor: 12900 },
];
const METHODS = ['alipay', 'wechat_pay', 'paypal', 'card'] as const;

/** Creates the shop (operator credentials) and stocks its products: plenty of each, and one hot SKU that sells out. */
export async function openDemoShop(options: DemoOptions): Promise<DemoShop> {
  const operator = apiClient(options.url, { basic: options.admin });
  const health = await operator('GET', '/healthz');
  if (health.status !== 200) throw new DemoError(`${options.url} does not look like orderworks: GET /healthz answered ${health.status}`);
  const run = randomBytes(3).toString('hex');
  const created = await operator('POST', '/v1/admin/shops', { name: `Demo shop ${run}` });
  if (created.status === 401) throw new DemoError(`the admin credentials for user "${options.admin.user}" were refused by ${options.url} (401): pass --admin user:password`);
  expectStatus(created, [201], 'create shop');
  const call = apiClient(options.url, { bearer: created.json.apiKey });
  const hotStock = Math.max(1, Math.round(options.count / 50));
  const hotSku = 'TEA-DAHONGPAO';
  for (const { sku, ...p } of SKUS) {
    expectStatus(await call('PUT', `/v1/products/${sku}`, { ...p, currency: 'CNY', stock: options.count * 10 }), [200, 201], `stock ${sku}`);
  }
  expectStatus(await call('PUT', `/v1/products/${hotSku}`, { name: 'Da Hong Pao (limited)', priceMinor: 88800, currency: 'CNY', stock: hotStock }), [200, 201], `stock ${hotSku}`);
  return { call, run, hotSku, hotStock };
}

/** Mostly good cards; one in ten declined, one in ten flaky, one in twenty timing out. Deterministic per n. */
export function tokenOf(n: number): string {
  const r = n % 20;
  if (r === 3 || r === 13) return 'tok_decline';
  if (r === 7 || r === 17) return 'tok_flaky';
  if (r === 11) return 'tok_timeout';
  return 'tok_ok';
}

export function orderOf(shop: DemoShop, n: number) {
  // One order in ten wants the hot SKU: the first few get it, the rest are rejected out_of_stock.
  const items = n % 10 === 5
    ? [{ sku: shop.hotSku, quantity: 1 }]
    : [{ sku: SKUS[n % SKUS.length]!.sku, quantity: 1 + (n % 3) }, ...(n % 4 === 0 ? [{ sku: SKUS[(n + 1) % SKUS.length]!.sku, quantity: 1 }] : [])];
  return {
    externalId: `demo-${shop.run}-${n}`,
    currency: 'CNY',
    items,
    customer: { name: `Customer ${n}`, email: `customer${n}@example.com`, phone: '+8613800000000' },
    shippingAddress: { name: `Customer ${n}`, line1: `${n} Nanjing Rd`, city: 'Shanghai', postalCode: '200001', country: 'CN' },
    // The method shifts each cycle of twenty, so every method meets every token.
    payment: { method: METHODS[(n + Math.floor(n / 20)) % METHODS.length]!, token: tokenOf(n) },
  };
}

/** Submits order n; the idempotency key makes a retry after a lost answer safe. */
export async function submitOrder(shop: DemoShop, n: number): Promise<{ id: string; status: string } | { error: string }> {
  const key = `demo-${shop.run}-${n}`;
  for (let attempt = 1; ; attempt++) {
    const r = await shop.call('POST', '/v1/orders', orderOf(shop, n), { 'idempotency-key': key }).catch((e: Error) => ({ status: 0, json: { detail: e.message } }));
    if (r.status === 202) return { id: r.json.id, status: r.json.status };
    const retryable = r.status === 0 || r.status === 429 || r.status === 503;
    if (!retryable || attempt === 3) return { error: `HTTP ${r.status}${r.json?.detail ? ` ${r.json.detail}` : ''}` };
    await new Promise((resolve) => setTimeout(resolve, 500 * attempt));
  }
}
