import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client, createShop, orderBody, waitForOrder, waitForStatus, type Client } from '../support/client.js';
import { ADMIN, startSystem, type TestSystem } from '../support/system.js';
import { merchantReference } from '../../src/domain/order.js';
import { startSink } from '../support/webhook-sink.js';

/**
 * Buyer-driven wallet checkouts end to end (docs/api.md section 6), as a shop and its buyer use them: the order
 * gets a payment action, the action leads to the sandbox's hosted checkout page, the buyer pays (or does not)
 * there, and the provider's own ledger shows what happened.
 */

let sys: TestSystem;
let shop: Client;
type Charge = { amountMinor: number; requestedMinor: number; status: string; refundedMinor: number; merchant: string; tradeRef: string };
const ledger = async (orderId: string) => (await client(sys.base)('GET', `/sandbox/charges?reference=${orderId}`)).json.data as Charge[];

let sink: Awaited<ReturnType<typeof startSink>>;
beforeAll(async () => {
  sink = await startSink();
  sys = await startSystem({ env: { WEBHOOK_ALLOW_PRIVATE_NETWORKS: '1' } });
  shop = (await createShop(sys.base)).call;
  await shop('PUT', '/v1/products/TEA', { name: 'Tea', priceMinor: 1999, currency: 'CNY', stock: 1000 });
});
afterAll(async () => {
  await sys?.close();
  sink?.close();
});

/** Places an order and waits until it shows its payment action. */
export async function orderWithAction(call: Client, key: string, payment: Record<string, unknown>) {
  const r = await call('POST', '/v1/orders', orderBody([{ sku: 'TEA', quantity: 2 }], { payment }), { 'idempotency-key': key });
  expect(r.status, r.text).toBe(202);
  return waitForOrder(call, r.json.id, (o) => o.status !== 'received' && o.payment.status !== 'pending', 'showing a payment action (or ended)');
}

/** Where the buyer lands when it follows the action (scans the QR, follows the redirect, opens WeChat's JSAPI). */
async function checkoutUrl(action: any): Promise<string> {
  if (action.type === 'jsapi') return `${sys.base}/sandbox/checkout/${String(action.params.package).replace(/^prepay_id=/, '')}`;
  const page = await fetch(action.type === 'qr_code' ? action.qrContent : action.url, { redirect: 'follow' });
  expect(page.status).toBe(200);
  expect(await page.text()).toContain('id="pay"');
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

describe('PayPal approve link and card 3-D Secure', () => {
  it.each([
    ['paypal redirect: the buyer approves on the page, orderworks captures once', 'pp-redirect', { method: 'paypal', returnUrl: 'https://shop.example/back' }, 'redirect'],
    ['card tok_3ds: the bank asks for 3-D Secure, the buyer passes it, paid once', 'card-3ds', { method: 'card', token: 'tok_3ds', returnUrl: 'https://shop.example/back' }, 'token'],
  ] as const)('%s', async (_name, key, payment, flow) => {
    const o = await orderWithAction(shop, key, payment);
    expect(o.payment).toMatchObject({ flow, status: 'action_required', action: { type: 'redirect' } });
    const url = await checkoutUrl(o.payment.action);
    expect((await pay(url)).status).toBeLessThan(300);
    const done = await waitForStatus(shop, o.id, ['paid', 'payment_failed']);
    expect(done).toMatchObject({ status: 'paid', payment: { capturedMinor: 3998 } });
    expect((await ledger(o.id)).map((c) => [c.status, c.amountMinor])).toEqual([['captured', 3998]]);
  });

  it('card tok_3ds declined on the page: payment_failed, stock back, nothing charged', async () => {
    const before = (await shop('GET', '/v1/products/TEA')).json.reserved;
    const o = await orderWithAction(shop, 'card-3ds-decline', { method: 'card', token: 'tok_3ds' });
    const url = await checkoutUrl(o.payment.action);
    await fetch(`${url}/decline`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    const done = await waitForStatus(shop, o.id, ['paid', 'payment_failed']);
    expect(done).toMatchObject({ status: 'payment_failed', statusReason: 'payment_declined', payment: { status: 'failed', capturedMinor: 0 } });
    expect((await shop('GET', '/v1/products/TEA')).json.reserved).toBe(before);
    expect((await ledger(o.id)).filter((c) => c.amountMinor > 0)).toEqual([]);
  });
});

describe('money checks: only the exact amount pays an order', () => {
  it.each([['alipay'], ['wechat_pay']] as const)('%s: the buyer pays a wrong amount: not paid, refunded in full, recorded', async (method) => {
    const o = await orderWithAction(shop, `wrong-amount-${method}`, { method, flow: 'qr' });
    const url = await checkoutUrl(o.payment.action);
    expect((await pay(url, { amountMinor: 1 })).status).toBeLessThan(300);
    const done = await waitForStatus(shop, o.id, ['payment_failed', 'paid']);
    expect(done).toMatchObject({ status: 'payment_failed', statusReason: 'payment_amount_mismatch', payment: { capturedMinor: 1 } });
    // The money is recorded as it arrived, then given back in full.
    const o2 = await waitForOrder(shop, o.id, (x) => x.payment.status === 'refunded', 'with its payment refunded');
    expect(o2.payment).toMatchObject({ status: 'refunded', capturedMinor: 1, refundedMinor: 1 });
    // Recorded as refunded only once the provider refunded it: its ledger says so already.
    expect(await ledger(o.id)).toMatchObject([{ amountMinor: 1, status: 'refunded', refundedMinor: 1 }]);
    const after = (await shop('GET', `/v1/orders/${o.id}`)).json;
    expect(after.payment.events.map((e: any) => e.type)).toEqual(['action_required', 'payment_amount_mismatch', 'refunding']);
    expect(after.payment.events[1].detail).toContain('1 CNY paid for an order of 3998 CNY');
  });
});

describe('the buyer never pays: the trade is closed at the provider when the hold ends', () => {
  let short: TestSystem;
  let call: Client;
  beforeAll(async () => {
    // Long enough that a busy machine opens the trade well inside the hold (a hold already over when the capture
    // job first runs would be a different story), short enough to wait for seven times.
    short = await startSystem({ env: { HOLD_EXPIRES_MS: '5000' } });
    call = (await createShop(short.base)).call;
    await call('PUT', '/v1/products/TEA', { name: 'Tea', priceMinor: 1999, currency: 'CNY', stock: 10 });
  });
  afterAll(() => short?.close());

  const cases = [
    ['alipay', { method: 'alipay', flow: 'qr' }],
    ['alipay', { method: 'alipay', flow: 'redirect' }],
    ['wechat_pay', { method: 'wechat_pay', flow: 'qr' }],
    ['wechat_pay', { method: 'wechat_pay', flow: 'jsapi', payer: { openid: 'oBuyer1' } }],
    ['wechat_pay', { method: 'wechat_pay', flow: 'h5' }],
    ['card', { method: 'card', token: 'tok_3ds' }],
  ] as const;
  it.each(cases)('%s %j', async (_method, payment) => {
    const o = await orderWithAction(call, `expire-${JSON.stringify(payment)}`, payment);
    // The buyer opens the page (scans the code) and walks away.
    const url = await checkoutUrlOn(short.base, o.payment.action);
    const done = await waitForStatus(call, o.id, ['payment_failed', 'paid']);
    expect(done).toMatchObject({ status: 'payment_failed', statusReason: 'payment_timeout', payment: { status: 'failed', action: null } });
    expect(done.payment.events.map((e: any) => e.type)).toEqual(['action_required', 'payment_timeout']);
    expect((await call('GET', '/v1/products/TEA')).json).toMatchObject({ stock: 10, reserved: 0 });
    const charges = (await client(short.base)('GET', `/sandbox/charges?reference=${o.id}`)).json.data as Charge[];
    expect(charges.map((c) => c.status)).toEqual(['closed']);
    // Paying afterwards is refused by the provider, and the order is never paid.
    expect((await pay(url)).status).toBe(409);
    expect((await call('GET', `/v1/orders/${o.id}`)).json.status).toBe('payment_failed');
  });

  it('paypal ends payment_timeout, stock back; approving afterwards charges nothing (PayPal has no close: orderworks never captures it)', async () => {
    const o = await orderWithAction(call, 'pp-expire', { method: 'paypal' });
    const url = await checkoutUrlOn(short.base, o.payment.action);
    const done = await waitForStatus(call, o.id, ['payment_failed', 'paid']);
    expect(done).toMatchObject({ status: 'payment_failed', statusReason: 'payment_timeout' });
    expect((await call('GET', '/v1/products/TEA')).json).toMatchObject({ stock: 10, reserved: 0 });
    expect((await pay(url)).status).toBeLessThan(300); // the buyer approves late
    // PayPal tells of the approval a moment later; an order that no longer waits acts on nothing in it.
    await new Promise((r) => setTimeout(r, 1_500));
    const again = (await call('GET', `/v1/orders/${o.id}`)).json;
    expect(again).toMatchObject({ status: 'payment_failed', payment: { status: 'failed', capturedMinor: 0 } });
    const charges = (await client(short.base)('GET', `/sandbox/charges?reference=${o.id}`)).json.data as Charge[];
    expect(charges.map((c) => [c.status, c.amountMinor])).toEqual([['pending', 0]]);
  });
});

async function checkoutUrlOn(base: string, action: any): Promise<string> {
  if (action.type === 'jsapi') return `${base}/sandbox/checkout/${String(action.params.package).replace(/^prepay_id=/, '')}`;
  const page = await fetch(action.type === 'qr_code' ? action.qrContent : action.url, { redirect: 'follow' });
  return /^(.*\/sandbox\/checkout\/[^/?#]+)/.exec(page.url)![1]!;
}

describe('the buyer switches method during the hold', () => {
  it('the first trade is closed at the provider first; the second is paid; one charge in all', async () => {
    const o = await orderWithAction(shop, 'switch-1', { method: 'alipay', flow: 'qr' });
    const first = await checkoutUrl(o.payment.action); // scanned, not paid
    const body = { method: 'wechat_pay', flow: 'qr' };
    const r = await shop('POST', `/v1/orders/${o.id}/payment`, body, { 'idempotency-key': 'sw-1' });
    expect(r.status, r.text).toBe(202);
    expect(r.json.payment).toMatchObject({ method: 'wechat_pay', flow: 'qr' });
    // The same key again: the same switch, nothing more; with another body: 409.
    expect((await shop('POST', `/v1/orders/${o.id}/payment`, body, { 'idempotency-key': 'sw-1' })).status).toBe(202);
    expect((await shop('POST', `/v1/orders/${o.id}/payment`, { method: 'paypal' }, { 'idempotency-key': 'sw-1' })).status).toBe(409);
    expect((await pay(first)).status).toBe(409);
    const o2 = await waitForOrder(shop, o.id, (x) => x.payment.status === 'action_required' && x.payment.method === 'wechat_pay', 'showing the WeChat Pay action');
    expect(o2.payment).toMatchObject({ method: 'wechat_pay', status: 'action_required', action: { type: 'qr_code' } });
    expect((await pay(await checkoutUrl(o2.payment.action))).status).toBeLessThan(300);
    const done = await waitForStatus(shop, o.id, ['paid', 'payment_failed']);
    expect(done).toMatchObject({ status: 'paid', payment: { method: 'wechat_pay', capturedMinor: 3998 } });
    expect(done.payment.events.map((e: any) => e.type)).toEqual(['action_required', 'method_switched', 'action_required', 'captured']);
    const firstTrade = await ledger(merchantReference(o.id, 0));
    const secondTrade = await ledger(merchantReference(o.id, 1));
    expect(firstTrade.map((c) => c.status)).toEqual(['closed']);
    expect(secondTrade.map((c) => [c.status, c.amountMinor])).toEqual([['captured', 3998]]);
    // Paid: nothing to switch any more.
    expect((await shop('POST', `/v1/orders/${o.id}/payment`, body, { 'idempotency-key': 'sw-2' })).status).toBe(409);
  });
});

describe('per-shop merchant accounts (partner mode)', () => {
  it('a shop with its own accounts is charged through them; the platform account never sees the money', async () => {
    const admin = client(sys.base, { basic: ADMIN });
    const made = await createShop(sys.base, 'Partner shop');
    const merchants = {
      wechat_pay: { subMchid: '1900000109' },
      alipay: { appAuthToken: '201510BBaabdb44d8fd04607abf8d5931ec75D84' },
      paypal: { payeeMerchantId: 'SHOPMERCHANT1' },
      card: { account: 'acct_shop1' },
    };
    const patched = await admin('PATCH', `/v1/admin/shops/${made.id}`, { merchants });
    expect(patched).toMatchObject({ status: 200, json: { id: made.id, merchants } });
    expect((await admin('PATCH', `/v1/admin/shops/${made.id}`, { merchants: { wechat_pay: { subMchid: 'x' } } })).status).toBe(400);
    await made.call('PUT', '/v1/products/TEA', { name: 'Tea', priceMinor: 1999, currency: 'CNY', stock: 100 });
    const cases = [
      [{ method: 'alipay', flow: 'qr' }, merchants.alipay.appAuthToken],
      [{ method: 'wechat_pay', flow: 'qr' }, merchants.wechat_pay.subMchid],
      [{ method: 'paypal' }, merchants.paypal.payeeMerchantId],
      [{ method: 'card', token: 'tok_ok' }, merchants.card.account],
    ] as const;
    for (const [payment, account] of cases) {
      const r = await made.call('POST', '/v1/orders', orderBody([{ sku: 'TEA', quantity: 1 }], { payment }), { 'idempotency-key': `partner-${payment.method}` });
      expect(r.status).toBe(202);
      const o = await waitForOrder(made.call, r.json.id, (x) => x.status === 'paid' || x.payment.status === 'action_required', 'paid or showing its action');
      if (o.payment.action) expect((await pay(await checkoutUrl(o.payment.action))).status).toBeLessThan(300);
      const done = await waitForStatus(made.call, r.json.id, ['paid', 'payment_failed']);
      expect(done.status, `${payment.method}: ${JSON.stringify(done.payment)}`).toBe('paid');
      expect((await ledger(r.json.id)).map((c) => [c.status, c.merchant])).toEqual([['captured', account]]);
    }
    // Removing one account (null) sends that method's money to the platform's account again.
    expect((await admin('PATCH', `/v1/admin/shops/${made.id}`, { merchants: { card: null } })).json.merchants).toEqual({ ...merchants, card: undefined });
  });
});

describe('the shop hears of the action', () => {
  it('order.payment_action_required carries the action, then order.paid', async () => {
    const admin = client(sys.base, { basic: ADMIN });
    const made = await admin('POST', '/v1/admin/shops', { name: 'Hooked', webhookUrl: sink.url });
    const call = client(sys.base, { bearer: made.json.apiKey });
    await call('PUT', '/v1/products/TEA', { name: 'Tea', priceMinor: 1999, currency: 'CNY', stock: 10 });
    const o = await orderWithAction(call, 'hooked-1', { method: 'alipay', flow: 'qr' });
    const events = async (want: string) => {
      for (let i = 0; i < 400; i++) {
        const found = sink.hits.map((h) => JSON.parse(h.body)).filter((b) => b.data.order.id === o.id);
        if (found.some((b) => b.type === want)) return found;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`no ${want} for ${o.id}`);
    };
    const first = (await events('order.payment_action_required')).find((b) => b.type === 'order.payment_action_required');
    expect(first.data.order.payment).toMatchObject({ status: 'action_required', action: { type: 'qr_code', qrContent: o.payment.action.qrContent } });
    await pay(await checkoutUrl(o.payment.action));
    const all = await events('order.paid');
    expect(all.map((b) => b.type)).toEqual(['order.placed', 'order.payment_action_required', 'order.paid']);
  });
});
