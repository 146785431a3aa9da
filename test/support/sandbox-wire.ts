import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { alipayTimestamp, extractAlipayResponse, signAlipayParams } from '../../src/payments/alipay.signing.js';
import { buildWechatAuthorization } from '../../src/payments/wechat-pay.signing.js';
import { loadSandboxCredentials, type SandboxCredentials } from '../../src/sandbox/sandbox-credentials.js';
import { sandboxPaymentsRouter } from '../../src/sandbox/payments/sandbox-payments.router.js';
import { createTestDatabase } from './db.js';

/**
 * The sandbox providers alone (no orderworks around them), spoken to on the wire as a merchant would, with
 * a receiver for the notifications they send. For tests of what the sandbox accepts, refuses and answers.
 */

export interface Received { path: string; headers: IncomingMessage['headers']; body: Buffer }
export interface LedgerEntry {
  id: string; reference: string; method: string; flow: string; merchant: string; tradeRef: string | null; amountMinor: number;
  requestedMinor: number; currency: string; status: string; providerStatus: string; refundedMinor: number;
}

const listen = (server: Server) => new Promise<string>((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
const close = (server: Server) => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); });

export async function startSandbox() {
  const tdb = await createTestDatabase();
  const creds = await loadSandboxCredentials(tdb.db);
  const received: Received[] = [];
  const receiver = createServer((req, res) => {
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
  const server = createServer(app);
  const base = `${await listen(server)}/sandbox`;

  const ledger = async (reference: string): Promise<LedgerEntry[]> =>
    ((await (await fetch(`${base}/charges?reference=${encodeURIComponent(reference)}`)).json()) as { data: LedgerEntry[] }).data;

  /** Waits, bounded by polls rather than a deadline, for a notification that `match` accepts. */
  const notification = async (match: (r: Received) => boolean, polls = 100): Promise<Received> => {
    for (let i = 0; i < polls; i++) {
      const hit = received.find(match);
      if (hit) return hit;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('no such notification arrived');
  };

  return {
    base, creds, db: tdb.db, received, notifyBase, ledger, notification,
    alipay: alipayClient(base, creds.alipay, notifyBase),
    wechat: wechatClient(base, creds.wechatPay),
    paypal: paypalClient(base, creds.paypal),
    card: cardClient(base, creds.card),
    buyer: buyerClient(base),
    async close() {
      await close(server);
      await close(receiver);
      await tdb.drop();
    },
  };
}
export type Sandbox = Awaited<ReturnType<typeof startSandbox>>;

function alipayClient(base: string, c: SandboxCredentials['alipay'], notifyBase: string) {
  const params = (method: string, biz: Record<string, unknown>, extra: Record<string, string> = {}) => {
    const p: Record<string, string> = {
      app_id: c.appId, method, format: 'JSON', charset: 'utf-8', sign_type: 'RSA2', timestamp: alipayTimestamp(), version: '1.0',
      notify_url: `${notifyBase}/notify/alipay`, biz_content: JSON.stringify(biz), ...extra,
    };
    return { ...p, sign: signAlipayParams(p, c.appPrivateKey) };
  };
  return {
    /** An API call: the answer's node, parsed, and the raw text (to check the signature). */
    async call(method: string, biz: Record<string, unknown>, extra: Record<string, string> = {}) {
      const res = await fetch(`${base}/alipay/gateway.do`, {
        method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded;charset=utf-8' }, body: new URLSearchParams(params(method, biz, extra)).toString(),
      });
      const raw = await res.text();
      const node = extractAlipayResponse(raw, method);
      return { status: res.status, raw, node: JSON.parse(node?.node ?? '{}') as Record<string, string>, sign: node?.sign };
    },
    /** The URL a merchant hands the buyer's browser for page.pay / wap.pay. */
    browserUrl: (method: string, biz: Record<string, unknown>, extra: Record<string, string> = {}) =>
      `${base}/alipay/gateway.do?${new URLSearchParams(params(method, biz, extra))}`,
  };
}

function wechatClient(base: string, c: SandboxCredentials['wechatPay']) {
  return async (method: 'GET' | 'POST', path: string, body?: unknown) => {
    const text = body === undefined ? '' : JSON.stringify(body);
    const authorization = buildWechatAuthorization({ mchid: c.mchid, serialNo: c.merchantSerial, privateKey: c.merchantPrivateKey, method, pathAndQuery: path, body: text });
    const res = await fetch(`${base}/wechatpay${path}`, {
      method, headers: { authorization, accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, ...(body === undefined ? {} : { body: text }),
    });
    const raw = await res.text();
    return { status: res.status, headers: res.headers, raw, json: (raw ? JSON.parse(raw) : {}) as Record<string, any> };
  };
}

function paypalClient(base: string, c: SandboxCredentials['paypal']) {
  let token: string | undefined;
  return async (method: 'GET' | 'POST' | 'PATCH', path: string, body?: unknown, headers: Record<string, string> = {}) => {
    token ??= ((await (await fetch(`${base}/paypal/v1/oauth2/token`, {
      method: 'POST', headers: { authorization: `Basic ${Buffer.from(`${c.clientId}:${c.clientSecret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
    })).json()) as { access_token: string }).access_token;
    const res = await fetch(`${base}/paypal${path}`, {
      method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers }, ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const raw = await res.text();
    return { status: res.status, json: (raw ? JSON.parse(raw) : {}) as Record<string, any> };
  };
}

function cardClient(base: string, c: SandboxCredentials['card']) {
  return async (method: 'GET' | 'POST', path: string, form?: Record<string, string>, headers: Record<string, string> = {}) => {
    const res = await fetch(`${base}/card${path}`, {
      method, headers: { authorization: `Bearer ${c.secretKey}`, ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}), ...headers },
      ...(form ? { body: new URLSearchParams(form).toString() } : {}),
    });
    return { status: res.status, json: (await res.json()) as Record<string, any> };
  };
}

/** The buyer: opens the checkout page behind a URL, pays or declines by script or as the page's form does. */
function buyerClient(base: string) {
  const refOf = (url: string) => decodeURIComponent(new URL(url).pathname.split('/').pop()!);
  const act = async (ref: string, action: 'pay' | 'decline', body?: Record<string, unknown>) => {
    const res = await fetch(`${base}/checkout/${encodeURIComponent(ref)}/${action}`, {
      method: 'POST', ...(body ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, json: (await res.json()) as Record<string, any> };
  };
  return {
    refOf,
    open: async (url: string) => {
      const res = await fetch(url, { redirect: 'manual' });
      return { status: res.status, html: await res.text(), location: res.headers.get('location') };
    },
    pay: (ref: string, body?: { amountMinor?: number; currency?: string }) => act(ref, 'pay', body),
    decline: (ref: string) => act(ref, 'decline'),
    /** As the page's form: a urlencoded POST whose answer is a redirect. */
    submit: async (ref: string, action: 'pay' | 'decline', query = '') => {
      const res = await fetch(`${base}/checkout/${encodeURIComponent(ref)}/${action}${query}`, {
        method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: '',
      });
      return { status: res.status, location: res.headers.get('location'), text: await res.text() };
    },
  };
}
