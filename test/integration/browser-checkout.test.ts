import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, screenshotPath } from '../support/browser.js';
import { startSandbox, type Sandbox } from '../support/sandbox-wire.js';

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
