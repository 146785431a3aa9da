import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DomainError } from '../../src/domain/errors.js';
import { merchantReference, PAYMENT_METHODS, type PaymentMethod } from '../../src/domain/order.js';
import type { ActionRequired, Capture, CaptureRequest, PaymentGateway, RefundRequest } from '../../src/domain/payment-gateway.js';
import { createPaymentGateways } from '../../src/payments/payment-gateways.js';
import { sandboxPaymentGatewaysOptions } from '../../src/sandbox/sandbox-gateways.js';
import { decryptWechatResource, type WechatResource } from '../../src/payments/wechat-pay.signing.js';
import { loadSandboxCredentials, type SandboxCredentials } from '../../src/sandbox/sandbox-credentials.js';
import { sandboxPaymentsRouter } from '../../src/sandbox/payments/sandbox-payments.router.js';
import { createTestDatabase } from '../support/db.js';

interface Received { path: string; headers: IncomingMessage['headers']; body: Buffer }

let tdb: Awaited<ReturnType<typeof createTestDatabase>>;
let sandbox: Server;
let receiver: Server;
let base: string;
let creds: SandboxCredentials;
let gateways: Record<PaymentMethod, PaymentGateway>;
let impatient: Record<PaymentMethod, PaymentGateway>;
const received: Received[] = [];

const listen = (server: Server) => new Promise<string>((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
const close = (server: Server) => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); });

beforeAll(async () => {
  tdb = await createTestDatabase();
  creds = await loadSandboxCredentials(tdb.db);
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) });
      res.end('success');
    });
  });
  const notifyBase = await listen(receiver);
  const app = express();
  app.use('/sandbox', sandboxPaymentsRouter({ db: tdb.db, credentials: creds, webhookUrl: `${notifyBase}/notify/{method}` }));
  sandbox = createServer(app);
  base = await listen(sandbox);
  const notifyUrl = `${notifyBase}/notify/{method}`;
  gateways = createPaymentGateways(sandboxPaymentGatewaysOptions(creds, `${base}/sandbox`, { timeoutMs: 5_000, notifyUrl }));
  impatient = createPaymentGateways(sandboxPaymentGatewaysOptions(creds, `${base}/sandbox`, { timeoutMs: 500, notifyUrl }));
});

afterAll(async () => {
  if (sandbox) await close(sandbox);
  if (receiver) await close(receiver);
  await tdb?.drop();
});

const currencyOf = (m: PaymentMethod) => (m === 'alipay' || m === 'wechat_pay' ? 'CNY' : 'USD');
const captureReq = (method: PaymentMethod, token: string, amountMinor = 1999): CaptureRequest => ({
  reference: merchantReference(randomUUID()), amountMinor, currency: currencyOf(method), token, description: 'orderworks test order',
  flow: method === 'alipay' || method === 'wechat_pay' ? 'barcode' : 'token', expiresAt: new Date(Date.now() + 3_600_000),
});
/** A capture that charges at once (barcode, token): anything else is a failure of the test. */
const charged = async (p: Promise<Capture | ActionRequired>): Promise<Capture> => {
  const r = await p;
  if (r.status !== 'captured') throw new Error(`expected a capture, got ${JSON.stringify(r)}`);
  return r;
};
const refundReq = (c: CaptureRequest, providerReference: string, refundId: string, amountMinor: number): RefundRequest =>
  ({ reference: c.reference, refundId, amountMinor, capturedMinor: c.amountMinor, currency: c.currency, providerReference, token: c.token });

async function ledger(reference: string) {
  const res = await fetch(`${base}/sandbox/charges?reference=${encodeURIComponent(reference)}`);
  return ((await res.json()) as { data: Array<{ id: string; method: string; amountMinor: number; status: string; refundedMinor: number }> }).data;
}

async function failure(p: Promise<unknown>): Promise<DomainError> {
  const error = await p.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(DomainError);
  return error as DomainError;
}

/** The notification the sandbox sent for `reference`; WeChat Pay's are encrypted, so those are decrypted to be matched. */
async function notificationFor(method: PaymentMethod, reference: string): Promise<Received> {
  const mentions = (r: Received) => {
    const text = r.body.toString('utf8');
    if (method !== 'wechat_pay') return text.includes(reference);
    const resource = (JSON.parse(text) as { resource: WechatResource }).resource;
    return decryptWechatResource(resource, creds.wechatPay.apiV3Key).includes(reference);
  };
  for (let i = 0; i < 50; i++) {
    const hit = received.find((r) => r.path === `/notify/${method}` && mentions(r));
    if (hit) return hit;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no ${method} notification for ${reference}`);
}

describe.each(PAYMENT_METHODS)('%s adapter against the sandbox', (method) => {
  const gw = () => gateways[method];

  it('captures tok_ok once; the same reference again is the same charge', async () => {
    const req = captureReq(method, 'tok_ok');
    const first = await charged(gw().capture(req));
    expect(first).toMatchObject({ status: 'captured', amountMinor: 1999 });
    const second = await charged(gw().capture(req));
    expect(second.providerReference).toBe(first.providerReference);
    expect(await gw().lookup(req)).toEqual(first);
    const rows = await ledger(req.reference);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ id: first.providerReference, method, amountMinor: 1999, status: 'captured', refundedMinor: 0 });
    expect(await gw().lookup(captureReq(method, 'tok_ok'))).toEqual({ status: 'not_found' });
  });

  it('charges once when the same reference is captured concurrently', async () => {
    const req = captureReq(method, 'tok_ok');
    const all = await Promise.all([charged(gw().capture(req)), charged(gw().capture(req)), charged(gw().capture(req))]);
    expect(new Set(all.map((c) => c.providerReference)).size).toBe(1);
    expect(await ledger(req.reference)).toHaveLength(1);
  });

  it('declines tok_decline permanently and charges nothing', async () => {
    const req = captureReq(method, 'tok_decline');
    const error = await failure(gw().capture(req));
    expect(error.code).toBe('payment_declined');
    expect(error.permanent).toBe(true);
    // Nothing paid; a PayPal order the shop's page created stays on the provider's books, open.
    expect((await ledger(req.reference)).filter((c) => c.status !== 'pending' || c.amountMinor !== 0)).toEqual([]);
  });

  it('answers tok_flaky with two transient failures, then captures', async () => {
    const req = captureReq(method, 'tok_flaky');
    for (let i = 0; i < 2; i++) {
      const error = await failure(gw().capture(req));
      expect(error).toMatchObject({ code: 'provider_unavailable', permanent: false });
    }
    await expect(gw().capture(req)).resolves.toMatchObject({ status: 'captured' });
    expect(await ledger(req.reference)).toHaveLength(1);
  });

  it('tok_timeout: an ambiguous timeout, then lookup finds the charge and a retry does not charge twice', async () => {
    const req = captureReq(method, 'tok_timeout');
    const error = await failure(impatient[method].capture(req));
    expect(error).toMatchObject({ code: 'provider_unavailable', permanent: false });
    expect(error.options.ambiguous).toBe(true);
    const found = await gw().lookup(req);
    expect(found).toMatchObject({ status: 'captured', amountMinor: 1999 });
    const retried = await charged(gw().capture(req));
    expect(retried.providerReference).toBe(found.status === 'captured' ? found.providerReference : 'none');
    expect(await ledger(req.reference)).toHaveLength(1);

    // WeChat Pay sends no notification for a payment-code trade (see the wire-level tests).
    if (method === 'wechat_pay') return;
    // The lost answer is made good by the provider's notification, which parses; a tampered copy does not.
    const note = await notificationFor(method, req.reference);
    const parsed = await gw().parseNotification({ headers: note.headers, body: note.body });
    expect(parsed.notification).toMatchObject({ reference: req.reference, status: 'captured', providerReference: retried.providerReference, amountMinor: 1999 });
    expect(parsed.reply.status).toBe(200);
    const tampered = Buffer.from(note.body.toString('utf8').replace(/1999|19\.99/, '1'));
    expect(tampered.equals(note.body)).toBe(false);
    expect(await failure(gw().parseNotification({ headers: note.headers, body: tampered }))).toMatchObject({ code: 'provider_rejected' });
  });

  it('partial refunds add up, a replayed refund id refunds once, an over-refund is refused', async () => {
    const req = captureReq(method, 'tok_ok', 1000);
    const { providerReference } = await charged(gw().capture(req));
    const r1 = refundReq(req, providerReference, `rf-${randomUUID()}`, 300);
    await expect(gw().refund(r1)).resolves.toMatchObject({ status: 'succeeded' });
    await expect(gw().refund(r1)).resolves.toMatchObject({ status: 'succeeded' });
    await expect(gw().refund(refundReq(req, providerReference, `rf-${randomUUID()}`, 600))).resolves.toMatchObject({ status: 'succeeded' });
    expect((await ledger(req.reference))[0]).toMatchObject({ refundedMinor: 900, status: 'partially_refunded' });
    await expect(gw().refund(refundReq(req, providerReference, `rf-${randomUUID()}`, 200))).resolves.toMatchObject({ status: 'failed' });
    expect((await ledger(req.reference))[0]).toMatchObject({ refundedMinor: 900 });
    await expect(gw().refund(refundReq(req, providerReference, `rf-${randomUUID()}`, 100))).resolves.toMatchObject({ status: 'succeeded' });
    expect((await ledger(req.reference))[0]).toMatchObject({ refundedMinor: 1000, status: 'refunded' });
    await expect(gw().lookupRefund(r1)).resolves.toMatchObject({ status: 'succeeded' });
    await expect(gw().lookupRefund(refundReq(req, providerReference, `rf-${randomUUID()}`, 5))).resolves.toMatchObject({ status: 'failed' });
    await expect(gw().lookup(req)).resolves.toMatchObject({ status: 'captured', providerReference });
  });

  it('rejects a request signed with the wrong key, and charges nothing', async () => {
    const wrong = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
    const forged: SandboxCredentials = {
      ...creds,
      alipay: { ...creds.alipay, appPrivateKey: wrong.privateKey },
      wechatPay: { ...creds.wechatPay, merchantPrivateKey: wrong.privateKey },
      paypal: { ...creds.paypal, clientSecret: 'not-the-secret' },
      card: { ...creds.card, secretKey: 'sk_test_not_the_key' },
    };
    const bad = createPaymentGateways(sandboxPaymentGatewaysOptions(forged, `${base}/sandbox`))[method];
    const req = captureReq(method, 'tok_ok');
    expect(await failure(bad.capture(req))).toMatchObject({ code: 'provider_rejected', permanent: true });
    expect(await ledger(req.reference)).toHaveLength(0);
  });

  it('answers injected faults as the provider would: 429 with Retry-After, 500', async () => {
    const fault = (mode: string) => fetch(`${base}/sandbox/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ method, mode, forMs: 30_000 }) });
    expect((await fault('rate_limit')).status).toBe(200);
    const req = captureReq(method, 'tok_ok');
    expect(await failure(gw().capture(req))).toMatchObject({ code: 'provider_unavailable', permanent: false, options: { retryAfterSeconds: 1 } });
    await fault('error500');
    expect(await failure(gw().lookup(req))).toMatchObject({ code: 'provider_unavailable', permanent: false });
    await fault('none');
    await expect(gw().capture(req)).resolves.toMatchObject({ status: 'captured' });
  });
});

describe('sandbox provider wire-level rejections', () => {
  it('answers bad credentials the way each provider does', async () => {
    const alipay = await fetch(`${base}/sandbox/alipay/gateway.do`, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ app_id: creds.alipay.appId, method: 'alipay.trade.query', sign_type: 'RSA2', sign: 'AAAA', biz_content: '{}' }).toString(),
    });
    expect(await alipay.text()).toMatch(/"alipay_trade_query_response":\{"code":"40002".*"sub_code":"isv.invalid-signature"/);
    const wechat = await fetch(`${base}/sandbox/wechatpay/v3/pay/transactions/out-trade-no/x?mchid=${creds.wechatPay.mchid}`, {
      headers: { authorization: `WECHATPAY2-SHA256-RSA2048 mchid="${creds.wechatPay.mchid}",nonce_str="n",timestamp="${Math.floor(Date.now() / 1000)}",serial_no="${creds.wechatPay.merchantSerial}",signature="AAAA"` },
    });
    expect(wechat.status).toBe(401);
    expect(await wechat.json()).toMatchObject({ code: 'SIGN_ERROR' });
    const paypal = await fetch(`${base}/sandbox/paypal/v2/checkout/orders/x`, { headers: { authorization: 'Bearer A21AAforged.token' } });
    expect(paypal.status).toBe(401);
    const card = await fetch(`${base}/sandbox/card/v1/payment_intents/search?query=x`, { headers: { authorization: 'Bearer sk_test_wrong' } });
    expect(card.status).toBe(401);
  });

  it('reuses the credentials stored in the database', async () => {
    expect(await loadSandboxCredentials(tdb.db)).toEqual(creds);
  });
});
