import net from 'node:net';
import { crc32 } from 'node:zlib';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/metrics.js';
import { createWebProcess } from '../../src/web-process.js';
import { alipayTimestamp, signAlipayParams } from '../../src/payments/alipay.signing.js';
import { createPaypalGateway } from '../../src/payments/paypal.gateway.js';
import { rsaSign } from '../../src/payments/rsa.js';
import { stripeSignatureHeader } from '../../src/payments/stripe.signing.js';
import { loadSandboxCredentials, type SandboxCredentials } from '../../src/sandbox/sandbox-credentials.js';
import { client, createShop, orderBody, waitForStatus, type Client } from '../support/client.js';
import { rawRequest, type RawResponse } from '../support/raw-http.js';
import { startReplayServer } from '../support/replay-server.js';
import { startSystem, type TestSystem } from '../support/system.js';

/**
 * The unauthenticated notify route under abuse, and notifications bound to their method's route: bodies are
 * bounded in size and in number, a forgery costs no outbound verification, and a notification settles only
 * an order of its own method, with its amount and currency stated.
 */

const LIMIT = 65_536;
const MAX_CONCURRENT = 2;

let sys: TestSystem;
let shop: Client;
let creds: SandboxCredentials;

beforeAll(async () => {
  sys = await startSystem({ env: { NOTIFY_BODY_LIMIT_BYTES: String(LIMIT), NOTIFY_MAX_CONCURRENT: String(MAX_CONCURRENT) } });
  shop = (await createShop(sys.base)).call;
  await shop('PUT', '/v1/products/TEA', { name: 'Tea', priceMinor: 1999, currency: 'CNY', stock: 1000 });
  creds = await loadSandboxCredentials(sys.web.db);
});
afterAll(() => sys?.close());

/**
 * A request whose head is sent at once and whose body is written by the test, bit by bit; `answer` is what
 * came back once the server closed the connection (whatever the test had or had not sent by then).
 */
function openRequest(path: string, head: string[]) {
  const { hostname, port } = new URL(sys.base);
  const socket = net.connect(Number(port), hostname);
  const received: Buffer[] = [];
  socket.on('data', (c: Buffer) => received.push(c));
  socket.on('error', () => undefined); // a refused body may meet a closed socket: the answer is what counts
  const answer = new Promise<RawResponse>((resolve) =>
    socket.on('close', () => {
      const text = Buffer.concat(received).toString('utf8');
      const [top = '', body = ''] = text.split('\r\n\r\n');
      const [status, ...lines] = top.split('\r\n');
      const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
      let json: unknown;
      try {
        json = JSON.parse(body);
      } catch {
        json = undefined;
      }
      resolve({ status: Number(status?.split(' ')[1] ?? 0), headers, body, json });
    }),
  );
  socket.write([`POST ${path} HTTP/1.1`, `Host: ${hostname}:${port}`, 'Connection: close', ...head, '', ''].join('\r\n'));
  return { write: (data: string | Buffer) => socket.write(data), answer };
}

const expectProblem = (r: RawResponse, status: number) => {
  expect(r.status, r.body).toBe(status);
  expect(r.headers['content-type']).toMatch(/^application\/problem\+json/);
};

describe('the notify route bounds what an anonymous caller can make it hold', () => {
  it('refuses more bodies at once than its cap with 429 and Retry-After, and takes new ones once those are done', async () => {
    // Bodies that never finish arriving hold their places.
    const held = Array.from({ length: MAX_CONCURRENT }, () => openRequest('/v1/payments/notify/card', ['Content-Type: application/json', 'Content-Length: 20']));
    for (const h of held) h.write('{"type":"p');
    const probe = () => rawRequest(sys.base, { method: 'POST', path: '/v1/payments/notify/card', headers: [['Content-Type', 'application/json']], body: '{}' });
    let refused: RawResponse | undefined;
    for (let i = 0; i < 100 && !refused; i++) {
      const r = await probe();
      if (r.status === 429) refused = r;
      else await new Promise((res) => setTimeout(res, 20));
    }
    expect(refused, 'a request past the cap is refused').toBeDefined();
    expectProblem(refused!, 429);
    expect(Number(refused!.headers['retry-after'])).toBeGreaterThan(0);

    for (const h of held) h.write('ayment"}xx');
    for (const h of held) expectProblem(await h.answer, 400);
    let after = await probe();
    for (let i = 0; i < 100 && after.status === 429; i++) after = await probe();
    expectProblem(after, 400);
  });

  it('answers 413 to a declared Content-Length past the limit without waiting for the body', async () => {
    const r = openRequest('/v1/payments/notify/alipay', ['Content-Type: application/x-www-form-urlencoded', `Content-Length: ${10 * 1024 * 1024}`]);
    r.write('trade_status=TRADE_SUCCESS&'); // and nothing more of the 10 MiB it announced
    const answer = await r.answer;
    expectProblem(answer, 413);
    expect(answer.headers.connection).toBe('close');
  });

  it('answers 413 to a chunked body the moment it passes the limit, without waiting for its end', async () => {
    const r = openRequest('/v1/payments/notify/card', ['Content-Type: application/json', 'Transfer-Encoding: chunked']);
    const chunk = Buffer.alloc(LIMIT / 4, 'x');
    for (let i = 0; i < 4; i++) r.write(Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')]));
    r.write('1\r\nx\r\n'); // one byte past the limit; the terminating chunk is never sent
    expectProblem(await r.answer, 413);
  });

  it('reads a body of exactly the limit (and refuses it for what it is, not for its size)', async () => {
    const head = '{"type":"payment_intent.succeeded","pad":"';
    const body = `${head}${'x'.repeat(LIMIT - head.length - 2)}"}`;
    expect(Buffer.byteLength(body)).toBe(LIMIT);
    const r = await rawRequest(sys.base, { method: 'POST', path: '/v1/payments/notify/card', headers: [['Content-Type', 'application/json']], body });
    expectProblem(r, 400);
    const over = await rawRequest(sys.base, { method: 'POST', path: '/v1/payments/notify/card', headers: [['Content-Type', 'application/json']], body: `${body} ` });
    expectProblem(over, 413);
  });

  it('refuses a compressed body (415) and an unknown method (404) before reading anything', async () => {
    const gz = await rawRequest(sys.base, { method: 'POST', path: '/v1/payments/notify/card', headers: [['Content-Type', 'application/json'], ['Content-Encoding', 'gzip']], body: 'xx' });
    expectProblem(gz, 415);
    const unknown = openRequest('/v1/payments/notify/bitcoin', ['Content-Type: application/json', `Content-Length: ${LIMIT}`]);
    expectProblem(await unknown.answer, 404);
  });
});

describe('PayPal webhooks: verified by PayPal over the exact bytes received, and only after the cheap checks', () => {
  let paypal: Awaited<ReturnType<typeof startReplayServer>>;
  let web: Awaited<ReturnType<typeof createWebProcess>>;
  let base: string;
  let paypalOrder: { id: string; totalMinor: number };
  let cardOrder: { id: string };

  beforeAll(async () => {
    paypal = await startReplayServer();
    // The web process as `web` builds it, with PayPal at the replay server (the other methods at the sandbox).
    // Its own metrics registry: the system's web process has registered its metrics already.
    web = await createWebProcess({ ...sys.web, metrics: createMetrics() }, {
      gateways: { paypal: createPaypalGateway({ baseUrl: paypal.url, clientId: 'client', clientSecret: 'secret', webhookId: 'WH1TEST' }) },
    });
    web.server.listen(0, '127.0.0.1');
    await new Promise((resolve) => web.server.once('listening', resolve));
    base = `http://127.0.0.1:${(web.server.address() as AddressInfo).port}`;

    const placed = async (method: string, key: string) => {
      const r = await shop('POST', '/v1/orders', orderBody([{ sku: 'TEA', quantity: 2 }], { payment: { method, token: 'tok_ok' } }), { 'idempotency-key': key });
      return waitForStatus(shop, r.json.id, ['paid']);
    };
    paypalOrder = await placed('paypal', 'pp-1');
    cardOrder = await placed('card', 'card-1');
  });
  afterAll(async () => {
    await web?.close();
    await paypal?.close();
  });

  const transmission = (): Array<[string, string]> => [
    ['Content-Type', 'application/json'],
    ['PAYPAL-AUTH-ALGO', 'SHA256withRSA'],
    ['PAYPAL-CERT-URL', 'https://api-m.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-a5cafa77'],
    ['PAYPAL-TRANSMISSION-ID', '69cd13f0-d67a-11e5-baa3-778b53f4ae55'],
    ['PAYPAL-TRANSMISSION-SIG', 'lmI95Jx3Y9nhR5SJWlHVIWpg4AgFk7n9bCHSRxbrd8A9zrhdu2rMyFrmz+Zjh3s3boXB07VXCXUZy/UFzUlnGJn0wDugt7FlSvdKeIJenLRemUxYCPVoEZzg9VFNqOa48gMkvF+XTpxBe=='],
    ['PAYPAL-TRANSMISSION-TIME', new Date().toISOString()],
  ];
  /** A capture event as PayPal might format it: keys in its own order, indented, a non-ASCII escape. */
  const event = (customId: string, value = '39.98', type = 'PAYMENT.CAPTURE.COMPLETED') =>
    `{\n  "id": "WH-2WR32451HC0233532-67976317FL4543714",\n  "event_version": "1.0",\n  "event_type": "${type}",\n` +
    `  "summary": "Payment completed for \\u00a5 ${value} CNY",\n  "resource_type": "capture",\n` +
    `  "resource": {\n    "amount": { "value": "${value}", "currency_code": "CNY" },\n    "id": "42311647XV020574X",\n` +
    `    "status": "COMPLETED",\n    "custom_id": "${customId}",\n    "final_capture": true\n  },\n  "create_time": "2026-01-05T10:00:00.000Z"\n}`;
  const notify = (body: string, headers = transmission()) => rawRequest(base, { method: 'POST', path: '/v1/payments/notify/paypal', headers, body });
  const verifyCalls = () => paypal.requests.filter((r) => r.url === '/v1/notifications/verify-webhook-signature');

  it('makes no outbound call for a forgery that fails a cheap check', async () => {
    paypal.requests.length = 0;
    const forgeries: Array<[string, RawResponse, number]> = [
      ['an order we do not know', await notify(event('00000000-0000-4000-8000-000000000000')), 400],
      ['a reference that is no order id', await notify(event('x'.repeat(40))), 400],
      ['an order paid with card', await notify(event(cardOrder.id)), 400],
      ['no custom_id', await notify(event('')), 400],
      ['no transmission headers', await notify(event(paypalOrder.id), [['Content-Type', 'application/json']]), 400],
      ['a transmission id outside the schema', await notify(event(paypalOrder.id), transmission().map(([k, v]) => [k, k === 'PAYPAL-TRANSMISSION-ID' ? '12345' : v])), 400],
      ['not JSON', await notify(`${event(paypalOrder.id)}}`), 400],
      ['a replay transmitted four days ago, past PayPal\'s 3-day retry window', await notify(event(paypalOrder.id), transmission().map(([k, v]) => [k, k === 'PAYPAL-TRANSMISSION-TIME' ? new Date(Date.now() - 4 * 86_400_000).toISOString() : v])), 400],
      ['an event we never act on', await notify(event(paypalOrder.id, '39.98', 'BILLING.PLAN.CREATED')), 200],
    ];
    for (const [label, r, status] of forgeries) expect(r.status, `${label}: ${r.body}`).toBe(status);
    expect(paypal.requests.map((r) => `${r.method} ${r.url}`)).toEqual([]);
  });

  it('sends PayPal the event exactly as received: its whitespace, key order and escapes', async () => {
    paypal.requests.length = 0;
    paypal.reply({ body: { access_token: 'A21AAF', token_type: 'Bearer', expires_in: 32400 } }, { body: { verification_status: 'SUCCESS' } });
    const raw = event(paypalOrder.id, '39.98');
    const headers = transmission();
    const r = await notify(raw, headers);
    expect(r.status, r.body).toBe(200);
    const [verify, ...more] = verifyCalls();
    expect(more).toEqual([]);
    expect(verify!.body).toContain(`"webhook_event":${raw}`);
    const sent = JSON.parse(verify!.body) as Record<string, unknown>;
    const header = (name: string) => headers.find(([k]) => k === name)![1];
    expect(sent).toEqual({
      auth_algo: header('PAYPAL-AUTH-ALGO'), cert_url: header('PAYPAL-CERT-URL'), transmission_id: header('PAYPAL-TRANSMISSION-ID'),
      transmission_sig: header('PAYPAL-TRANSMISSION-SIG'), transmission_time: header('PAYPAL-TRANSMISSION-TIME'), webhook_id: 'WH1TEST',
      webhook_event: JSON.parse(raw),
    });
    expect(verify!.headers.authorization).toBe('Bearer A21AAF');
  });

  it('the sandbox PayPal, like PayPal, verifies the event bytes as sent: our own route and it agree', async () => {
    const { paypal: pp } = creds;
    const signed = (body: string): Array<[string, string]> => {
      const id = `tx-${Math.random().toString(36).slice(2)}`;
      const time = new Date().toISOString();
      return transmission().map(([k, v]): [string, string] => {
        if (k === 'PAYPAL-TRANSMISSION-ID') return [k, id];
        if (k === 'PAYPAL-TRANSMISSION-TIME') return [k, time];
        if (k === 'PAYPAL-TRANSMISSION-SIG') return [k, rsaSign(`${id}|${time}|${pp.webhookId}|${crc32(body)}`, pp.webhookPrivateKey)];
        return [k, v];
      });
    };
    const raw = event(paypalOrder.id, '39.98');
    const atSandbox = (body: string, headers: Array<[string, string]>) =>
      rawRequest(sys.base, { method: 'POST', path: '/v1/payments/notify/paypal', headers, body });
    const ok = await atSandbox(raw, signed(raw));
    expect(ok.status, ok.body).toBe(200);
    // The same event compacted is the same JSON but not the bytes that were signed.
    const compact = JSON.stringify(JSON.parse(raw));
    const moved = await atSandbox(compact, signed(raw));
    expect(moved.status, moved.body).toBe(400);
  });

  it('refuses what PayPal does not verify, and changes nothing', async () => {
    paypal.requests.length = 0;
    paypal.reply({ body: { verification_status: 'FAILURE' } });
    const before = (await shop('GET', `/v1/orders/${paypalOrder.id}`)).json;
    const r = await notify(event(paypalOrder.id, '0.01'));
    expect(r.status, r.body).toBe(400);
    expect(verifyCalls()).toHaveLength(1);
    expect((await shop('GET', `/v1/orders/${paypalOrder.id}`)).json).toEqual(before);
  });
});

describe('a notification is bound to its method\'s route and must state its amount', () => {
  let order: { id: string; totalMinor: number };

  beforeAll(async () => {
    // The card provider answers 500 for a while, so this card order stays placed and unpaid.
    const fault = await client(sys.base)('POST', '/sandbox/faults', { method: 'card', mode: 'error500', forMs: 120_000 });
    expect(fault.status).toBe(200);
    const r = await shop('POST', '/v1/orders', orderBody([{ sku: 'TEA', quantity: 2 }], { payment: { method: 'card', token: 'tok_ok' } }), { 'idempotency-key': 'bound-1' });
    order = await waitForStatus(shop, r.json.id, ['placed']);
    expect(order.totalMinor).toBe(3998);
  });

  const anon = () => client(sys.base);
  const cardEvent = (intent: Record<string, unknown>) => {
    const body = JSON.stringify({
      id: `evt_${Math.random().toString(36).slice(2)}`, object: 'event', type: 'payment_intent.succeeded',
      data: { object: { id: 'pi_bound_1', object: 'payment_intent', status: 'succeeded', metadata: { order_id: order.id }, ...intent } },
    });
    return anon()('POST', '/v1/payments/notify/card', body, { 'content-type': 'application/json', 'stripe-signature': stripeSignatureHeader(creds.card.webhookSecret, body) });
  };
  const unchanged = async () => {
    const o = (await shop('GET', `/v1/orders/${order.id}`)).json;
    expect(o).toMatchObject({ status: 'placed', payment: { method: 'card', capturedMinor: 0 } });
    expect(o.payment.status).not.toBe('captured');
  };

  it('a validly signed Alipay notification does not settle a card order', async () => {
    const fields: Record<string, string> = {
      notify_time: alipayTimestamp(), notify_type: 'trade_status_sync', notify_id: '2026010500222155624068450559358070', app_id: creds.alipay.appId,
      charset: 'utf-8', version: '1.0', trade_status: 'TRADE_SUCCESS', out_trade_no: order.id, trade_no: '2026010522001468450512505578', total_amount: '39.98',
    };
    const body = new URLSearchParams({ ...fields, sign_type: 'RSA2', sign: signAlipayParams(fields, creds.alipay.alipayPrivateKey) }).toString();
    const r = await anon()('POST', '/v1/payments/notify/alipay', body, { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' });
    expect(r.status, r.text).toBe(400);
    expect(r.json.detail).toMatch(/not paid with alipay/);
    await unchanged();
  });

  it('a validly signed card notification with no amount, or no currency, changes nothing', async () => {
    for (const intent of [{}, { amount: 3998, amount_received: 3998 }, { currency: 'cny' }]) {
      const r = await cardEvent(intent);
      expect(r.status, `${JSON.stringify(intent)}: ${r.text}`).toBe(400);
      expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    }
    await unchanged();
  });

  it('a validly signed card notification of another amount or currency is not believed on its own: the order stays unpaid', async () => {
    // The provider's own record decides (here it cannot be asked: the card provider answers 500, so the
    // notification is answered with an error for the provider to send again later); nothing changes meanwhile.
    for (const intent of [{ amount: 1, amount_received: 1, currency: 'cny' }, { amount: 3998, amount_received: 3998, currency: 'usd' }]) {
      const r = await cardEvent(intent);
      expect(r.status, `${JSON.stringify(intent)}: ${r.text}`).not.toBe(400);
      await unchanged();
    }
  });

  it('the same notification with its amount and currency settles the order (the refusals above were the checks)', async () => {
    const r = await cardEvent({ amount: 3998, amount_received: 3998, currency: 'cny' });
    expect(r.status, r.text).toBe(200);
    const o = (await shop('GET', `/v1/orders/${order.id}`)).json;
    expect(o).toMatchObject({ status: 'paid', payment: { method: 'card', status: 'captured', capturedMinor: 3998, providerReference: 'pi_bound_1' } });
  });

  it('a replay of it, or one of another amount afterwards, changes nothing', async () => {
    const before = (await shop('GET', `/v1/orders/${order.id}`)).json;
    for (const intent of [{ amount: 3998, amount_received: 3998, currency: 'cny' }, { amount: 1, amount_received: 1, currency: 'cny' }]) {
      expect((await cardEvent(intent)).status).toBe(200);
    }
    const after = (await shop('GET', `/v1/orders/${order.id}`)).json;
    expect(after).toEqual(before);
  });
});
