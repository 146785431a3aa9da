import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client, createShop, orderBody, waitForStatus, type Client } from '../support/client.js';
import { startSystem, type TestSystem } from '../support/system.js';

/**
 * Buyer-driven wallet checkouts end to end (docs/api.md section 6), as a shop and its buyer use them: the order
 * gets a payment action, the action leads to the sandbox's hosted checkout page, the buyer pays (or does not)
 * there, and the provider's own ledger shows what happened.
 */

let sys: TestSystem;
let shop: Client;
type Charge = { amountMinor: number; requestedMinor: number; status: string; refundedMinor: number; merchant: string; tradeRef: string };
const ledger = async (orderId: string) => (await client(sys.base)('GET', `/sandbox/charges?reference=${orderId}`)).json.data as Charge[];

beforeAll(async () => {
  sys = await startSystem();
  shop = (await createShop(sys.base)).call;
  await shop('PUT', '/v1/products/TEA', { name: 'Tea', priceMinor: 1999, currency: 'CNY', stock: 1000 });
});
afterAll(() => sys?.close());

/** Places an order and waits until it shows its payment action. */
export async function orderWithAction(call: Client, key: string, payment: Record<string, unknown>) {
  const r = await call('POST', '/v1/orders', orderBody([{ sku: 'TEA', quantity: 2 }], { payment }), { 'idempotency-key': key });
  expect(r.status, r.text).toBe(202);
  const o = await waitForStatus(call, r.json.id, ['placed', 'payment_failed', 'rejected']);
  if (o.payment.status === 'action_required') return o;
  for (let i = 0; i < 200; i++) {
    const again = (await call('GET', `/v1/orders/${r.json.id}`)).json;
    if (again.payment.status !== 'pending') return again;
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error(`no payment action for ${r.json.id}`);
}

/** Where the buyer lands when it follows the action (scans the QR, follows the redirect, opens WeChat's JSAPI). */
async function checkoutUrl(action: any): Promise<string> {
  if (action.type === 'jsapi') return `${sys.base}/sandbox/checkout/${String(action.params.package).replace(/^prepay_id=/, '')}`;
  const page = await fetch(action.type === 'qr_code' ? action.qrContent : action.url, { redirect: 'follow' });
  expect(page.status).toBe(200);
  expect(await page.text()).toContain('Pay');
  const m = /^(.*\/sandbox\/checkout\/[^/?#]+)/.exec(page.url);
  expect(m, page.url).toBeTruthy();
  return m![1]!;
}

const pay = (url: string, body: Record<string, unknown> = {}) =>
  fetch(`${url}/pay`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('each buyer-driven flow: 202, an action, the buyer pays on the checkout page, paid once', () => {
  const flows = [
    ['alipay', { method: 'alipay', flow: 'qr' }, 'qr_code'],
    ['alipay', { method: 'alipay', flow: 'redirect', returnUrl: 'https://shop.example/back' }, 'redirect'],
    ['alipay', { method: 'alipay', flow: 'redirect', payer: { device: 'mobile' } }, 'redirect'],
    ['wechat_pay', { method: 'wechat_pay', flow: 'qr' }, 'qr_code'],
    ['wechat_pay', { method: 'wechat_pay', flow: 'jsapi', payer: { openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o' } }, 'jsapi'],
    ['wechat_pay', { method: 'wechat_pay', flow: 'h5', payer: { clientIp: '203.0.113.7' } }, 'redirect'],
  ] as const;
  it.each(flows)('%s %j', async (method, payment, actionType) => {
    const o = await orderWithAction(shop, `flow-${method}-${JSON.stringify(payment)}`, payment);
    expect(o).toMatchObject({ status: 'placed', payment: { method, flow: payment.flow, status: 'action_required', action: { type: actionType } } });
    expect(Date.parse(o.payment.expiresAt)).toBeGreaterThan(Date.now());
    expect(o.payment.events.map((e: any) => e.type)).toEqual(['action_required']);
    const url = await checkoutUrl(o.payment.action);
    const paid = await pay(url);
    expect(paid.status).toBeLessThan(300);
    const done = await waitForStatus(shop, o.id, ['paid', 'payment_failed']);
    expect(done).toMatchObject({ status: 'paid', payment: { status: 'captured', capturedMinor: 3998, action: null, expiresAt: null } });
    expect(done.payment.events.map((e: any) => e.type)).toEqual(['action_required', 'captured']);
    const charges = await ledger(o.id);
    expect(charges.filter((c) => c.status === 'captured')).toHaveLength(1);
    expect(charges).toHaveLength(1);
    expect(charges[0]).toMatchObject({ amountMinor: 3998, requestedMinor: 3998 });
    // Paying the same trade again is refused by the provider.
    expect((await pay(url)).status).toBe(409);
  });
});
