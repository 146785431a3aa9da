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

/** Mostly good tokens; one in ten declined, one in ten flaky, one in twenty timing out. Deterministic per n. */
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
    payment: paymentOf(n),
  };
}

/**
 * How order n pays. The method shifts each cycle of twenty, so every method meets every token script. A wallet
 * order (Alipay, WeChat Pay) with a good token is a QR checkout instead, as most wallet buyers pay: the order
 * shows a QR code and its buyer pays on the provider's page (see `payAsBuyer`); cards and PayPal pay with tokens.
 */
export function paymentOf(n: number): { method: (typeof METHODS)[number]; token: string } | { method: 'alipay' | 'wechat_pay'; flow: 'qr' } {
  const method = METHODS[(n + Math.floor(n / 20)) % METHODS.length]!;
  const token = tokenOf(n);
  if ((method === 'alipay' || method === 'wechat_pay') && token === 'tok_ok') return { method, flow: 'qr' };
  return { method, token };
}

export interface PaymentAction {
  type: string;
  qrContent?: string;
  url?: string;
  params?: { package?: string };
}

/**
 * The buyer's side of a wallet checkout: opens the order's payment action (scans the QR code: a GET of its
 * content, redirects followed, lands on the provider's checkout page) and presses Pay. True when paid, or when
 * the provider says it already is (a retry after a lost answer).
 */
export async function payAsBuyer(base: string, action: PaymentAction): Promise<boolean> {
  let page: string;
  if (action.type === 'jsapi') page = `${base}/sandbox/checkout/${String(action.params?.package).replace(/^prepay_id=/, '')}`;
  else {
    const opened = await fetch(action.type === 'qr_code' ? action.qrContent! : action.url!, { redirect: 'follow', signal: AbortSignal.timeout(10_000) });
    await opened.arrayBuffer();
    const m = /^(.*\/sandbox\/checkout\/[^/?#]+)/.exec(opened.url);
    if (opened.status !== 200 || !m) return false;
    page = m[1]!;
  }
  const paid = await fetch(`${page}/pay`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}', signal: AbortSignal.timeout(10_000) });
  await paid.arrayBuffer();
  return paid.status < 300 || paid.status === 409;
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
