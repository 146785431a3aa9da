import type pg from 'pg';
import type { BenchSystem } from './system.js';
import type { BenchSettings } from './settings.js';

/** A shop of its own per scenario, so each scenario's orders are counted by shop id. */
export interface BenchShop {
  id: string;
  apiKey: string;
  skus: string[];
}

async function call(url: string, init: RequestInit): Promise<any> {
  const res = await fetch(url, init);
  const text = await res.text();
  if (!res.ok) throw new Error(`${init.method} ${url}: ${res.status} ${text}`);
  return JSON.parse(text);
}

export async function createBenchShop(sys: BenchSystem, name: string, products: Array<{ sku: string; stock: number }>): Promise<BenchShop> {
  const basic = Buffer.from(`${sys.env.ADMIN_USER}:${sys.env.ADMIN_PASSWORD}`).toString('base64');
  const shop = await call(`${sys.base}/v1/admin/shops`, {
    method: 'POST',
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name }),
  });
  // A few at a time: this is setup, not load.
  for (let i = 0; i < products.length; i += 8) {
    await Promise.all(
      products.slice(i, i + 8).map((p) =>
        call(`${sys.base}/v1/products/${encodeURIComponent(p.sku)}`, {
          method: 'PUT',
          headers: { authorization: `Bearer ${shop.apiKey}`, 'content-type': 'application/json' },
          body: JSON.stringify({ name: `Bench ${p.sku}`, priceMinor: 1999, currency: 'CNY', stock: p.stock }),
        }),
      ),
    );
  }
  return { id: shop.id, apiKey: shop.apiKey, skus: products.map((p) => p.sku) };
}

/** `count` SKUs with more stock than any run can sell. */
export const plentyOf = (settings: BenchSettings, prefix: string) =>
  Array.from({ length: settings.skus }, (_, i) => ({ sku: `${prefix}-${String(i).padStart(3, '0')}`, stock: 100_000_000 }));

/** The bodies of a run's orders on `shop`: the i-th takes the shop's SKUs in turn. */
export const bodiesFor = (settings: BenchSettings, shop: BenchShop) => (i: number) => orderBody(settings, shop.skus[i % shop.skus.length]!, i);

/** The body of the i-th order: one line, the SKUs taken in turn. */
export function orderBody(settings: BenchSettings, sku: string, i: number): string {
  return JSON.stringify({
    externalId: `bench-${i}`,
    currency: 'CNY',
    items: [{ sku, quantity: 1 }],
    customer: { name: 'Li Lei', email: 'li@example.com', phone: '+8613800000000' },
    shippingAddress: { name: 'Li Lei', line1: '1 Nanjing Rd', city: 'Shanghai', postalCode: '200001', country: 'CN' },
    // A token is charged at once; a buyer-driven flow takes none (the buyer pays through the order's action).
    payment: settings.paymentFlow === 'token' ? { method: settings.paymentMethod, token: 'tok_ok' } : { method: settings.paymentMethod, flow: settings.paymentFlow },
  });
}

export type Counts = Record<string, number>;

/** Orders of one shop by status (`rejected:out_of_stock` also counted under its reason), straight from Postgres. */
export async function countOrders(pool: pg.Pool, shopId: string): Promise<Counts> {
  const { rows } = await pool.query<{ status: string; reason: string | null; n: number }>(
    'SELECT status, status_reason AS reason, count(*)::int AS n FROM orders WHERE shop_id = $1 GROUP BY status, status_reason',
    [shopId],
  );
  const counts: Counts = { total: 0 };
  for (const r of rows) {
    counts[r.status] = (counts[r.status] ?? 0) + r.n;
    if (r.reason) counts[`${r.status}:${r.reason}`] = r.n;
    counts.total! += r.n;
  }
  return counts;
}

/** Statuses an order of the bench does not leave by itself. */
export const SETTLED = ['paid', 'rejected', 'payment_failed', 'cancelled'];
export const settled = (c: Counts) => SETTLED.reduce((n, s) => n + (c[s] ?? 0), 0);
