import type { Browser } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, screenshotPath } from '../support/browser.js';
import { startSystem, type TestSystem } from '../support/system.js';

/** The pages a newcomer opens first, in a real browser: the landing page and the API reference it links. */
let sys: TestSystem;
let browser: Browser;

beforeAll(async () => {
  [sys, browser] = await Promise.all([startSystem({ workers: false }), launchBrowser()]);
});
afterAll(async () => {
  await browser?.close();
  await sys?.close();
});

describe('landing page and API reference in Chromium', () => {
  it('links the API reference, which lists every operation, and loads nothing from elsewhere', async () => {
    const page = await browser.newPage();
    const origins = new Set<string>();
    page.on('request', (req) => void origins.add(new URL(req.url()).origin));
    await page.goto(`${sys.base}/`);
    expect(await page.$eval('h1', (el) => el.textContent)).toBe('orderworks');
    const links = await page.$$eval('a', (as) => as.map((a) => a.getAttribute('href')));
    expect(links).toEqual(expect.arrayContaining(['/docs', '/openapi.json', '/admin/queues', '/readyz', '/healthz']));
    await page.screenshot({ path: screenshotPath('landing') });

    await Promise.all([page.waitForNavigation(), page.click('a[href="/docs"]')]);
    const ops = await page.$$eval('.op', (els) => els.map((el) => `${el.querySelector('.m')?.textContent} ${el.querySelector('.path')?.textContent}`));
    expect(ops).toEqual(expect.arrayContaining(['post /v1/orders', 'get /v1/orders/{id}', 'get /v1/admin/orders', 'post /v1/payments/notify/{method}']));
    const doc = (await (await fetch(`${sys.base}/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    const documented = Object.values(doc.paths).flatMap((item) => ['get', 'put', 'post', 'patch', 'delete'].filter((m) => item[m]));
    expect(ops).toHaveLength(documented.length);
    await page.screenshot({ path: screenshotPath('api-docs'), fullPage: true });
    expect([...origins]).toEqual([sys.base]);
    await page.close();
  });
});
