import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, screenshotPath } from '../support/browser.js';
import { startSandbox, type Sandbox } from '../support/sandbox-wire.js';
import { client, createShop, orderBody, waitForStatus, type Client } from '../support/client.js';
import { startSystem, type TestSystem } from '../support/system.js';
import { sleep } from '../support/processes.js';
import { merchantReference } from '../../src/domain/order.js';

/** The hosted checkout page in a real browser: what a buyer sees, and what pressing its buttons does. */

let sbx: Sandbox;
let browser: Browser;
let shop: Server;
let shopBase: string;

beforeAll(async () => {
  [sbx, browser] = await Promise.all([startSandbox(), launchBrowser()]);
  // The shop's return page: echoes what the provider sent the buyer back with.
  shop = createServer((req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(`<h1 id="back">back at the shop</h1><pre id="query">${new URL(req.url ?? '/', 'http://x').search}</pre>`));
  await new Promise<void>((resolve) => shop.listen(0, '127.0.0.1', resolve));
  shopBase = `http://127.0.0.1:${(shop.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await browser?.close();
  shop?.closeAllConnections();
  await new Promise((resolve) => shop?.close(resolve));
  await sbx?.close();
});

const text = (page: import('puppeteer-core').Page, selector: string) => page.$eval(selector, (el) => el.textContent ?? '');

describe('the checkout page in Chromium', () => {
  it('a QR order: the buyer sees merchant and amount, presses Pay, and the provider records the payment', async () => {
    const ref = randomBytes(16).toString('hex');
    const pre = await sbx.alipay.call('alipay.trade.precreate', { out_trade_no: ref, total_amount: '39.98', subject: 'Jasmine tea x2' });
    const page = await browser.newPage();
    await page.goto(pre.node.qr_code!);
    expect(await text(page, 'h1')).toBe('Alipay checkout');
    expect(await text(page, 'td[data-field="amount"]')).toBe('39.98 CNY');
    expect(await text(page, 'td[data-field="merchant"]')).toBe(sbx.creds.alipay.appId);
    expect(await text(page, 'td[data-field="description"]')).toBe('Jasmine tea x2');
    await page.screenshot({ path: screenshotPath('checkout-alipay-before-pay') });

    await Promise.all([page.waitForNavigation(), page.click('#pay')]);
    expect(await text(page, '#notice')).toContain('Paid');
    expect(await page.$('#pay')).toBeNull();
    await page.screenshot({ path: screenshotPath('checkout-alipay-paid') });
    expect(await sbx.ledger(ref)).toMatchObject([{ method: 'alipay', status: 'captured', amountMinor: 3998 }]);
    expect((await sbx.alipay.call('alipay.trade.query', { out_trade_no: ref })).node.trade_status).toBe('TRADE_SUCCESS');
    await page.close();
  });

  it('3-D Secure: the redirect leads to the page, and Decline brings the buyer back to the shop with redirect_status=failed', async () => {
    const reference = randomUUID();
    const pi = await sbx.card('POST', '/v1/payment_intents', {
      amount: '2500', currency: 'eur', payment_method: 'tok_3ds', confirm: 'true', 'metadata[order_id]': reference, return_url: `${shopBase}/3ds-done`,
    });
    const page = await browser.newPage();
    await page.goto(pi.json.next_action.redirect_to_url.url);
    expect(await text(page, 'h1')).toBe('3-D Secure checkout');
    await Promise.all([page.waitForNavigation(), page.click('#decline')]);
    expect(await text(page, '#back')).toBe('back at the shop');
    expect(await text(page, '#query')).toContain('redirect_status=failed');
    expect((await sbx.card('GET', `/v1/payment_intents/${pi.json.id}`)).json.status).toBe('requires_payment_method');
    await page.close();
  });
});

describe('the whole buyer path in Chromium: an order of orderworks, its action opened, paid on the page', () => {
  let sys: TestSystem;
  let call: Client;
  beforeAll(async () => {
    sys = await startSystem();
    call = (await createShop(sys.base)).call;
    await call('PUT', '/v1/products/TEA', { name: 'Jasmine tea', priceMinor: 1999, currency: 'CNY', stock: 100 });
  });
  afterAll(() => sys?.close());

  /** Places an order of two teas (39.98 CNY) and waits, bound by progress, until it shows its payment action. */
  async function orderWithAction(key: string, payment: Record<string, unknown>) {
    const r = await call('POST', '/v1/orders', orderBody([{ sku: 'TEA', quantity: 2 }], { payment }), { 'idempotency-key': key });
    expect(r.status, r.text).toBe(202);
    await waitForStatus(call, r.json.id, ['placed', 'payment_failed', 'rejected']);
    // The action comes with the capture job's first call to the provider, after placement: bound by progress,
    // as waitForStatus is (an order that shows no change for 20 s fails with what it last showed).
    let last = '';
    let movedAt = Date.now();
    for (;;) {
      const r2 = await call('GET', `/v1/orders/${r.json.id}`);
      const o = r2.json;
      if (o.status !== 'placed' || o.payment.status !== 'pending') return o;
      if (r2.text !== last) [last, movedAt] = [r2.text, Date.now()];
      if (Date.now() - movedAt > 20_000) throw new Error(`no payment action for ${r.json.id}: ${last}`);
      await sleep(50);
    }
  }

  /** The URL a buyer's device opens for the action: the QR content scanned, the redirect followed, WeChat's JSAPI page. */
  const actionUrl = (action: any): string =>
    action.type === 'jsapi' ? `${sys.base}/sandbox/checkout/${String(action.params.package).replace(/^prepay_id=/, '')}` : action.type === 'qr_code' ? action.qrContent : action.url;

  const flows = [
    ['alipay-qr', { method: 'alipay', flow: 'qr' }, 'qr_code', 'Alipay checkout'],
    ['wechat-jsapi', { method: 'wechat_pay', flow: 'jsapi', payer: { openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o' } }, 'jsapi', 'WeChat Pay checkout'],
    ['alipay-redirect', { method: 'alipay', flow: 'redirect', returnUrl: 'SHOP/alipay-back' }, 'redirect', 'Alipay checkout'],
  ] as const;

  it.each(flows)('%s', async (name, payment, actionType, title) => {
    const p = { ...payment, ...('returnUrl' in payment ? { returnUrl: payment.returnUrl.replace('SHOP', shopBase) } : {}) };
    const o = await orderWithAction(`browser-${name}`, p);
    expect(o, JSON.stringify(o)).toMatchObject({ status: 'placed', totalMinor: 3998, payment: { status: 'action_required', action: { type: actionType } } });
    if (actionType === 'jsapi') expect(o.payment.action.params.package).toMatch(/^prepay_id=/);

    const page = await browser.newPage();
    try {
      await page.goto(actionUrl(o.payment.action));
      // Wherever the action led (a redirect through the provider's gateway included), the buyer is on the checkout page.
      expect(page.url()).toMatch(/\/sandbox\/checkout\/[^/?#]+/);
      expect(await text(page, 'h1')).toBe(title);
      expect(await text(page, 'td[data-field="merchant reference"]')).toBe(merchantReference(o.id));
      expect(await text(page, 'td[data-field="amount"]')).toBe(`${(o.totalMinor / 100).toFixed(2)} CNY`);
      expect(await text(page, 'td[data-field="amount"]')).toBe('39.98 CNY');
      expect(await page.$('#pay')).not.toBeNull();
      await page.screenshot({ path: screenshotPath(`order-checkout-${name}-before-pay`), fullPage: true });

      await Promise.all([page.waitForNavigation(), page.click('#pay')]);
      if ('returnUrl' in payment) {
        // Alipay sends the buyer back to the shop with its signed return parameters.
        expect(await text(page, '#back')).toBe('back at the shop');
        expect(await text(page, '#query')).toContain(`out_trade_no=${merchantReference(o.id)}`);
      } else {
        expect(await text(page, '#notice')).toContain('Paid');
        expect(await page.$('#pay')).toBeNull();
      }
    } finally {
      await page.close();
    }

    const done = await waitForStatus(call, o.id, ['paid', 'payment_failed']);
    expect(done).toMatchObject({ status: 'paid', payment: { status: 'captured', capturedMinor: 3998, action: null } });
    expect(done.payment.events.map((e: any) => e.type)).toEqual(['action_required', 'captured']);
    const charges = (await client(sys.base)('GET', `/sandbox/charges?reference=${o.id}`)).json.data as Array<{ status: string; amountMinor: number }>;
    expect(charges.map((c) => [c.status, c.amountMinor])).toEqual([['captured', 3998]]);
  });
});
