import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, startSystem, type TestSystem } from '../support/system.js';
import { createShop, orderBody, waitForStatus } from '../support/client.js';
import { rawRequest, type RawRequest, type RawResponse } from '../support/raw-http.js';

/**
 * Bad input, generated: thousands of bodies, headers and paths thrown at every endpoint (contract section 2).
 * Properties of every answer: never a 5xx; every 4xx is problem+json whose `status` is the HTTP status; an
 * error body never shows a stack trace or SQL; a request not answered 2xx stores nothing (row counts of the
 * tables a request can add to, and the columns only a request can change, are compared before and after).
 *
 * Each endpoint's property collects its violations instead of stopping at the first, so one run names every
 * distinct defect (grouped by kind) with a reproduction. Requests go one at a time: the store check needs it.
 */

const RUNS = {
  'POST /v1/orders': 350,
  'PUT /v1/products/{sku}': 250,
  'GET /v1/products/{sku}': 120,
  'GET /v1/orders?query': 200,
  'GET /v1/orders/{id}': 120,
  'POST /v1/orders/{id}/cancel': 80,
  'POST /v1/orders/{id}/refunds': 180,
  'POST /v1/orders/{id}/shipments': 150,
  'POST /v1/admin/shops': 200,
  'POST /v1/payments/notify/{method}': 250,
  '/v1/webhook-deliveries': 100,
  'any path, any method': 150,
} as const;
type Endpoint = keyof typeof RUNS;

let sys: TestSystem;
let keyA: string;
let keyB: string;
const ids: Record<string, string> = {};
const tried: Partial<Record<Endpoint, number>> = {};
const fuzzSeed = Number(process.env.FUZZ_SEED ?? Date.now() % 2_147_483_647);

beforeAll(async () => {
  // The fuzzing presents many wrong operator credentials from one address; the throttle is tested in operations.test.ts.
  sys = await startSystem({ env: { WEBHOOK_ALLOW_PRIVATE_NETWORKS: '1', OPERATOR_AUTH_FAILURES_PER_MINUTE: '10000' } });
  const A = await createShop(sys.base, 'Fuzz A');
  const B = await createShop(sys.base, 'Fuzz B');
  keyA = A.apiKey;
  keyB = B.apiKey;
  expect((await A.call('PUT', '/v1/products/TEA-1', { name: 'Tea', priceMinor: 100, currency: 'CNY', stock: 1_000_000 })).status).toBe(201);
  expect((await B.call('PUT', '/v1/products/TEA-1', { name: 'Tea B', priceMinor: 100, currency: 'CNY', stock: 100 })).status).toBe(201);
  const place = async (call: typeof A.call, key: string, method: string, token: string) =>
    (await call('POST', '/v1/orders', orderBody([{ sku: 'TEA-1', quantity: 1 }], { payment: { method, token } }), { 'idempotency-key': key })).json.id as string;
  ids.paidCard = await place(A.call, 'fz-1', 'card', 'tok_ok');
  ids.paidAlipay = await place(A.call, 'fz-2', 'alipay', 'tok_ok');
  ids.paidWechat = await place(A.call, 'fz-3', 'wechat_pay', 'tok_ok');
  ids.declined = await place(A.call, 'fz-4', 'card', 'tok_decline');
  ids.otherShop = await place(B.call, 'fz-5', 'paypal', 'tok_ok');
  await Promise.all([
    waitForStatus(A.call, ids.paidCard, ['paid']),
    waitForStatus(A.call, ids.paidAlipay, ['paid']),
    waitForStatus(A.call, ids.paidWechat, ['paid']),
    waitForStatus(A.call, ids.declined, ['payment_failed']),
    waitForStatus(B.call, ids.otherShop, ['paid']),
  ]);
});

afterAll(async () => {
  const total = Object.values(tried).reduce((a, b) => a + (b ?? 0), 0);
  console.log(
    `fuzz (seed ${fuzzSeed}): ${total} requests\n${Object.entries(tried)
      .map(([e, n]) => `  ${String(n).padStart(5)}  ${e}`)
      .join('\n')}`,
  );
  await sys?.close();
});

// ---------------------------------------------------------------------------------------------------------
// What a request may store, and the check of each answer.

const STORE_SQL = `SELECT
  (SELECT count(*) FROM shops)::int AS shops,
  (SELECT count(*) FROM products)::int AS products,
  (SELECT count(*) FROM orders)::int AS orders,
  (SELECT count(*) FROM order_items)::int AS order_items,
  (SELECT count(*) FROM refunds)::int AS refunds,
  (SELECT count(*) FROM shipments)::int AS shipments,
  (SELECT md5(coalesce(string_agg(concat_ws('|', shop_id, sku, name, price_minor, currency), ',' ORDER BY id), '')) FROM products) AS catalog,
  (SELECT md5(coalesce(string_agg(concat_ws('|', id, name, webhook_url), ',' ORDER BY id), '')) FROM shops) AS shop_rows`;

const storeState = async () => JSON.stringify((await sys.web.db.rows(STORE_SQL))[0]);

interface Violation {
  kind: string;
  request: RawRequest;
  status?: number;
  contentType?: string;
  body?: string;
}

const LEAK = /\n\s+at [^\n]+:\d+:\d+|node_modules|\/src\/|\bSELECT\b.+\bFROM\b|\bINSERT INTO\b|\bUPDATE\b.+\bSET\b|syntax error at|violates .* constraint|invalid input syntax|SequelizeDatabaseError|ZodError/s;

function problemsOf(res: RawResponse): string[] {
  const out: string[] = [];
  if (res.status >= 500) out.push(`${res.status} answered`);
  if (res.status >= 400) {
    const ct = res.headers['content-type'] ?? '';
    if (!ct.startsWith('application/problem+json')) out.push(`${res.status} not problem+json (content-type: ${ct || 'none'})`);
    else {
      const p = res.json;
      const ok = p && typeof p === 'object' && typeof p.type === 'string' && typeof p.title === 'string' && typeof p.detail === 'string';
      if (!ok) out.push(`${res.status} problem without type/title/detail`);
      else if (p.status !== res.status) out.push(`${res.status} problem with status ${p.status}`);
    }
    if (LEAK.test(res.body)) out.push(`${res.status} body shows a stack trace or SQL`);
  }
  return out;
}

const violations: Record<string, Violation[]> = {};

/** Sends one generated request and records every broken property. */
async function probe(endpoint: Endpoint, req: RawRequest, extra?: (res: RawResponse) => string[]): Promise<void> {
  tried[endpoint] = (tried[endpoint] ?? 0) + 1;
  const list = (violations[endpoint] ??= []);
  const before = await storeState();
  let res: RawResponse;
  try {
    res = await rawRequest(sys.base, req);
  } catch (error) {
    list.push({ kind: `no HTTP answer: ${String(error).slice(0, 120)}`, request: req });
    return;
  }
  const after = await storeState();
  const kinds = problemsOf(res);
  if ((res.status < 200 || res.status > 299) && after !== before) kinds.push(`${res.status} answered, yet something was stored`);
  if (res.status >= 200 && res.status <= 299 && extra) kinds.push(...extra(res));
  for (const kind of kinds) list.push({ kind: `${kind}${traits(req)}`, request: req, status: res.status, contentType: res.headers['content-type'], body: res.body.slice(0, 300) });
}

/** What is unusual about a request, so that one report line stands for one cause. */
function traits(req: RawRequest): string {
  const t: string[] = [];
  const pathOnly = req.path.split('?')[0]!;
  if (pathOnly.split('/').some((seg) => decoded(seg) === null)) t.push('path not percent-decodable');
  if (/[^\x21-\x7e]/.test(req.path)) t.push('raw bytes in the request target');
  if ((req.headers ?? []).some(([, v]) => /[\x00-\x08\x0a-\x1f\x7f]/.test(v))) t.push('control character in a header');
  const enc = (req.headers ?? []).find(([k]) => k === 'Content-Encoding');
  if (enc) t.push(`Content-Encoding: ${enc[1]}`);
  return t.length ? ` [${t.join('; ')}]` : '';
}

const show = (s: string | Buffer | undefined, n = 200) => {
  if (s === undefined) return '(none)';
  const t = JSON.stringify(Buffer.isBuffer(s) ? s.toString('utf8') : s);
  return t.length > n ? `${t.slice(0, n)}... (${t.length} chars)` : t;
};

/** One line per distinct kind of violation, with the first request that showed it. */
function report(endpoint: Endpoint): string[] {
  const byKind = new Map<string, { n: number; v: Violation }>();
  for (const v of violations[endpoint] ?? []) {
    const k = byKind.get(v.kind);
    if (k) k.n++;
    else byKind.set(v.kind, { n: 1, v });
  }
  return [...byKind.entries()].map(
    ([kind, { n, v }]) =>
      `${kind} (x${n}) e.g. ${v.request.method} ${show(v.request.path, 300)} headers ${show(JSON.stringify(v.request.headers ?? []), 300)} ` +
      `body ${show(v.request.body)} -> ${v.status ?? '-'} ${v.contentType ?? ''} ${show(v.body)}`,
  );
}

async function fuzz<T>(endpoint: Endpoint, arb: fc.Arbitrary<T>, send: (value: T) => Promise<void>): Promise<void> {
  await fc.assert(
    fc.asyncProperty(arb, async (value) => {
      await send(value);
    }),
    { numRuns: RUNS[endpoint], seed: fuzzSeed, endOnFailure: true },
  );
  expect(report(endpoint), `fuzz seed ${fuzzSeed}: set FUZZ_SEED=${fuzzSeed} to replay`).toEqual([]);
}

// ---------------------------------------------------------------------------------------------------------
// Generators.

/** A literal JSON token (numbers JSON.stringify cannot write: 1e400, -0, 1.0, 00). */
class Raw {
  constructor(readonly text: string) {}
}
const toJson = (value: unknown): string => {
  const raws: string[] = [];
  const text = JSON.stringify(value, (_k, v) => (v instanceof Raw ? `@@RAW${raws.push(v.text) - 1}@@` : v));
  return (text ?? 'null').replace(/"@@RAW(\d+)@@"/g, (_m, i) => raws[Number(i)]!);
};

const nested = (depth: number, leaf: unknown = 1): unknown => {
  let v: unknown = leaf;
  for (let i = 0; i < depth; i++) v = i % 2 ? { a: v } : [v];
  return v;
};

const nasty = fc.constantFrom<unknown>(
  null, true, false, 0, -1, 1.5, -0.5, 1e308, -1e308, 2 ** 53, 2 ** 53 + 2, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 1e21, 2 ** 31, 2 ** 63,
  new Raw('1e400'), new Raw('-1e400'), new Raw('-0'), new Raw('1.0'), new Raw('1e-400'), new Raw('123456789012345678901234567890'),
  'NaN', 'Infinity', '-Infinity', '-1', '1e3', '0x10', '', ' ', '\t', '\u0000', 'a\u0000b', '\ud800', 'x\udfffy', '\u202e', '\ufeff', '😀', 'é',
  'Ω≈ç√', '../../etc/passwd', "' OR '1'='1", "'; DROP TABLE orders; --", '<script>alert(1)</script>', '%00', '%zz', '${7*7}', '{{7*7}}',
  '__proto__', 'constructor', [], {}, [[[]]], JSON.parse('{"__proto__":{"polluted":true}}'), { constructor: { prototype: { x: 1 } } },
  'x'.repeat(256), 'x'.repeat(10_000), '9'.repeat(400), nested(20), new Raw(JSON.stringify(nested(3_000))),
);
const junk: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: nasty },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 300 }) },
  { weight: 2, arbitrary: fc.oneof(fc.integer(), fc.double(), fc.integer({ min: -1_000, max: 100_000 })) },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
);

type Mutation = { at: number; op: 'set' | 'delete' | 'extra'; value: unknown; key: string };
const mutation = fc.record({
  at: fc.nat(),
  op: fc.constantFrom<Mutation['op']>('set', 'set', 'set', 'delete', 'extra'),
  value: junk,
  key: fc.oneof(fc.constantFrom('coupon', '__proto__', 'constructor', 'id', 'shopId', 'status', ''), fc.string({ maxLength: 10 })),
});

/** Every path of a JSON value down to a few levels, the root excluded. */
function pathsOf(v: unknown, at: Array<string | number> = []): Array<Array<string | number>> {
  if (!v || typeof v !== 'object' || v instanceof Raw || at.length >= 4) return [];
  return Object.entries(v).flatMap(([k, child]) => {
    const p = [...at, Array.isArray(v) ? Number(k) : k];
    return [p, ...pathsOf(child, p)];
  });
}

/** A deep copy that keeps Raw tokens and own `__proto__` keys (generated values are shared between runs). */
function clone(v: unknown): unknown {
  if (!v || typeof v !== 'object' || v instanceof Raw) return v;
  if (Array.isArray(v)) return v.map(clone);
  const out: Record<string, unknown> = {};
  for (const [k, child] of Object.entries(v)) Object.defineProperty(out, k, { value: clone(child), enumerable: true, writable: true, configurable: true });
  return out;
}

/** A deep copy of a valid body with a few fields replaced, deleted, or joined by a field nobody asked for. */
function mutate<T>(valid: T, muts: Mutation[]): unknown {
  const copy: any = clone(valid);
  for (const m of muts) {
    const paths = pathsOf(copy);
    if (!paths.length) break;
    const path = paths[m.at % paths.length]!;
    const parent = path.slice(0, -1).reduce((o: any, k) => o?.[k], copy);
    const last = path[path.length - 1]!;
    if (!parent || typeof parent !== 'object') continue;
    if (m.op === 'set') Object.defineProperty(parent, last, { value: clone(m.value), enumerable: true, writable: true, configurable: true });
    else if (m.op === 'delete' && Array.isArray(parent)) parent.splice(Number(last), 1);
    else if (m.op === 'delete') delete parent[last];
    else if (!Array.isArray(parent)) Object.defineProperty(parent, m.key, { value: clone(m.value), enumerable: true, writable: true, configurable: true });
  }
  return copy;
}

const malformedJson = fc.oneof(
  fc.constantFrom(
    '{', '}', '{"a":', '{"a":1,}', "{'a':1}", 'NaN', '[1,2', '\ufeff{}', '{"a":1}{"b":2}', 'undefined', '{"a":01}', '{"a":"\\x41"}',
    '{"a":"\\u12"}', '{"a":"\u0001"}', '"\\ud800"', '{"items":[', '{"a":1e}', '{"a":.5}', '{"a":+1}', '{"a":tru}', '// c\n{}', '\u0000',
    '['.repeat(100_000) + ']'.repeat(100_000), '{"a":'.repeat(20_000) + '1' + '}'.repeat(20_000), '[' + '1,'.repeat(50_000) + '1]',
  ),
  fc.tuple(fc.json({ maxDepth: 3 }), fc.nat()).map(([s, n]) => s.slice(0, s.length > 1 ? n % s.length : 0)),
  fc.string({ unit: 'binary', maxLength: 80 }),
);

/** Body text for a JSON endpoint: mostly near-valid, then any JSON, malformed JSON, nothing, or the valid body. */
const bodyFor = (valid: fc.Arbitrary<unknown>) =>
  fc.oneof(
    { weight: 6, arbitrary: fc.tuple(valid, fc.array(mutation, { minLength: 1, maxLength: 3 })).map(([v, m]) => toJson(mutate(v, m))) },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => toJson(v)) },
    { weight: 2, arbitrary: malformedJson },
    { weight: 1, arbitrary: valid.map((v) => toJson(v)) },
    { weight: 1, arbitrary: fc.constant(undefined) },
  );

const contentType = fc.oneof(
  { weight: 10, arbitrary: fc.constant('application/json') },
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      undefined, 'text/plain', 'multipart/form-data; boundary=xyz', 'application/json; charset=latin1', 'application/json; charset=utf-8',
      'application/json; charset=utf-16', 'application/json; charset="UTF-8"', 'application/json; charset=bogus', 'APPLICATION/JSON',
      'application/x-www-form-urlencoded', 'application/merge-patch+json', 'application/problem+json', 'application/xml', '', '*/*',
      'application/json, text/plain', 'application/json;;;', 'application', '/', 'application/json; boundary=', 'text/json',
    ),
  },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme-ascii', maxLength: 40 }) },
);

/** Header values cannot hold CR or LF (they would be other header lines); every other byte is fair. */
const headerText = (maxLength: number) =>
  fc.oneof(
    { weight: 4, arbitrary: fc.string({ unit: 'grapheme-ascii', maxLength }) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength }).map((s) => s.replace(/[\r\n]/g, '')) },
  );

const idempotencyKey = fc.oneof(
  { weight: 6, arbitrary: fc.stringMatching(/^[\x20-\x7e]{1,40}$/) },
  { weight: 1, arbitrary: fc.constant(undefined) },
  {
    weight: 2,
    arbitrary: fc.constantFrom('', ' ', 'x'.repeat(255), 'x'.repeat(256), 'x'.repeat(1_000), 'a\tb', 'a\u0001b', 'a\u007fb', '\u0000', 'clé', '键', 'a\u00ffb'),
  },
  { weight: 1, arbitrary: headerText(300) },
);

const encoding = fc.oneof(
  { weight: 12, arbitrary: fc.constant(undefined) },
  { weight: 1, arbitrary: fc.constantFrom('gzip', 'deflate', 'br', 'identity', 'compress', 'x-bogus', 'gzip, gzip') },
);

const auth = (valid: () => string) =>
  fc.oneof(
    { weight: 12, arbitrary: fc.constant('valid') },
    { weight: 1, arbitrary: fc.constantFrom('none', 'other-shop', 'basic-admin', 'bearer-only', 'bearer-wrong', 'bearer-prefix', 'lowercase') },
    { weight: 1, arbitrary: headerText(80) },
  ).map((a): string | undefined => {
    switch (a) {
      case 'valid': return valid();
      case 'none': return undefined;
      case 'other-shop': return `Bearer ${keyB}`;
      case 'basic-admin': return `Basic ${Buffer.from(`${ADMIN.user}:${ADMIN.password}`).toString('base64')}`;
      case 'bearer-only': return 'Bearer';
      case 'bearer-wrong': return 'Bearer ow_live_nope';
      case 'bearer-prefix': return `Bearer ${keyA.slice(0, -1)}`;
      case 'lowercase': return `bearer ${keyA}`;
      default: return a;
    }
  });
const shopAuth = auth(() => `Bearer ${keyA}`);

/** Lone surrogates cannot be stored as UTF-8: U+FFFD in their place is the expected, documented outcome. */
const wellFormed = (s: string) => s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');

/** A path segment from a raw string: encoded properly, half encoded (%, / and . left alone), or double encoded. */
const segment = (raw: fc.Arbitrary<string>) =>
  fc.tuple(raw.map(wellFormed), fc.constantFrom('encoded', 'encoded', 'half', 'double', 'as-is')).map(([s, how]) => {
    if (how === 'encoded') return encodeURIComponent(s);
    if (how === 'double') return encodeURIComponent(encodeURIComponent(s));
    if (how === 'half') return s.replace(/[^\x21-\x7e]|[?#]/gu, (c) => encodeURIComponent(c));
    return s.replace(/[\x00-\x20\x7f?#]/g, (c) => encodeURIComponent(c));
  });

const skuText = fc.oneof(
  { weight: 3, arbitrary: fc.stringMatching(/^[A-Za-z0-9._-]{1,20}$/) },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      'TEA-1', '.', '..', '...', '%', '%zz', '%E0%A4%A', 'a/b', 'a%2Fb', '..%2F..%2Fadmin', 'a b', 'a+b', 'a?b', 'a#b', 'ü', '键-1', '😀',
      'a\u0000b', '\u0000', '\ud800', 'x'.repeat(100), 'x'.repeat(101), 'x'.repeat(5_000), "'; DROP TABLE products; --", '\\', ';', 'null',
      '%2e%2e', '%252e', 'TEA-1%00', 'TEA-1 ',
    ),
  },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 30 }) },
);

const orderId = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('paidCard', 'paidAlipay', 'paidWechat', 'declined', 'otherShop').map((k) => ids[k]!) },
  { weight: 1, arbitrary: fc.uuid() },
  {
    weight: 1,
    arbitrary: fc.constantFrom('00000000-0000-0000-0000-000000000000', 'ffffffff-ffff-ffff-ffff-ffffffffffff', 'not-an-id', "1' OR '1'='1", '%zz', '%', '..', '', ' '),
  },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 60 }) },
);
const idSegment = segment(orderId);

interface Sent {
  auth?: string | undefined;
  contentType?: string | undefined;
  encoding?: string | undefined;
  idempotencyKey?: string | undefined;
  body?: string | undefined;
  extra?: Array<[string, string]>;
}
const requestOf = (method: string, path: string, s: Sent): RawRequest => {
  const headers: Array<[string, string]> = [];
  if (s.auth !== undefined) headers.push(['Authorization', s.auth]);
  if (s.contentType !== undefined) headers.push(['Content-Type', s.contentType]);
  if (s.encoding !== undefined) headers.push(['Content-Encoding', s.encoding]);
  if (s.idempotencyKey !== undefined) headers.push(['Idempotency-Key', s.idempotencyKey]);
  headers.push(...(s.extra ?? []));
  return { method, path, headers, ...(s.body !== undefined ? { body: s.body } : {}) };
};

const jsonRequest = (valid: fc.Arbitrary<unknown>, withKey = false) =>
  fc.record({
    auth: shopAuth,
    contentType,
    encoding,
    idempotencyKey: withKey ? idempotencyKey : fc.constant(undefined),
    body: bodyFor(valid),
  });

// Valid bodies, each field a little random so that valid requests vary too.
const validOrder = fc.record({
  externalId: fc.stringMatching(/^[a-z0-9-]{1,20}$/),
  currency: fc.constantFrom('CNY', 'USD', 'EUR'),
  items: fc.array(fc.record({ sku: fc.constantFrom('TEA-1', 'NOPE-1'), quantity: fc.integer({ min: 1, max: 3 }) }), { minLength: 1, maxLength: 3 }),
  customer: fc.constant({ name: 'Li Lei', email: 'li@example.com', phone: '+8613800000000' }),
  shippingAddress: fc.constant({ name: 'Li Lei', line1: '1 Nanjing Rd', city: 'Shanghai', postalCode: '200001', country: 'CN' }),
  payment: fc.record({ method: fc.constantFrom('alipay', 'wechat_pay', 'paypal', 'card'), token: fc.constantFrom('tok_ok', 'tok_decline') }),
});
const validProduct = fc.record({
  name: fc.oneof(fc.stringMatching(/^[A-Za-z][A-Za-z ]{0,20}$/), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 })),
  priceMinor: fc.integer({ min: 0, max: 1_000_000 }),
  currency: fc.constantFrom('CNY', 'USD', 'JPY'),
  stock: fc.integer({ min: 0, max: 1_000 }),
});
const validRefund = fc.record({ amountMinor: fc.integer({ min: 1, max: 150 }), reason: fc.constantFrom('damaged', 'late') });
const validShipment = fc.record({
  carrier: fc.constantFrom('sandbox', 'kuaidi100', 'sf', 'zto'),
  trackingNumber: fc.stringMatching(/^SBX-[A-Z0-9]{4,10}$/),
  fromCity: fc.constantFrom('Hangzhou', 'Beijing'),
});
const validShop = fc.record({ name: fc.stringMatching(/^[A-Za-z]{1,12}$/), webhookUrl: fc.constantFrom('https://example.com/hooks', 'http://127.0.0.1:9/x') });

/** What the server makes of a path segment, or null where it cannot be decoded. */
const decoded = (seg: string) => {
  try {
    return decodeURIComponent(seg);
  } catch {
    return null;
  }
};

// ---------------------------------------------------------------------------------------------------------

// Each endpoint's runs take a few seconds on an idle 2-core machine; the margin is for a busy one.
describe('fuzz: never a 5xx, always problem+json, nothing stored from a rejected request', { timeout: 120_000 }, () => {
  it('POST /v1/orders', () =>
    fuzz('POST /v1/orders', jsonRequest(validOrder, true), (s) => probe('POST /v1/orders', requestOf('POST', '/v1/orders', s))));

  it('PUT /v1/products/{sku}', () =>
    fuzz('PUT /v1/products/{sku}', fc.tuple(segment(skuText), jsonRequest(validProduct)), ([sku, s]) =>
      probe('PUT /v1/products/{sku}', requestOf('PUT', `/v1/products/${sku}`, s), (res) => {
        // What was accepted is what is stored: not a silently different sku or name.
        let sent: any;
        try {
          sent = JSON.parse(s.body ?? '');
        } catch {
          return [`${res.status} answered to a body that is not JSON`];
        }
        const want = decoded(sku);
        const out: string[] = [];
        if (res.json?.sku !== (want === null ? null : wellFormed(want))) out.push(`${res.status} stored sku differs from the one sent`);
        if (typeof sent?.name === 'string' && res.json?.name !== wellFormed(sent.name.trim())) out.push(`${res.status} stored name differs from the one sent`);
        return out;
      }),
    ));

  it('GET /v1/products/{sku}', () =>
    fuzz('GET /v1/products/{sku}', fc.tuple(segment(skuText), shopAuth), ([sku, a]) =>
      probe('GET /v1/products/{sku}', requestOf('GET', `/v1/products/${sku}`, { auth: a })),
    ));

  const queryPart = fc.tuple(
    fc.oneof(fc.constantFrom('status', 'limit', 'cursor', 'status[]', 'limit[a]', '__proto__', 'constructor', '', '%zz', 'LIMIT'), fc.string({ unit: 'grapheme-ascii', maxLength: 8 })),
    fc.oneof(
      fc.constantFrom('paid', 'placed', 'lost', '', '0', '1', '100', '101', '-1', '1.5', '1e400', 'NaN', '0x10', '%zz', '%', '%00', 'ffffffff-ffff-ffff-ffff-ffffffffffff'),
      fc.uuid(),
      fc.string({ unit: 'grapheme', maxLength: 20 }).map(encodeURIComponent),
      fc.string({ unit: 'grapheme-ascii', maxLength: 20 }).map((s) => s.replace(/[\x00-\x20#]/g, '')),
    ),
  );
  it('GET /v1/orders?query', () =>
    fuzz('GET /v1/orders?query', fc.tuple(fc.array(queryPart, { maxLength: 5 }), shopAuth, fc.boolean()), ([parts, a, long]) => {
      const q = parts.map(([k, v]) => `${k}=${v}`).join('&') + (long ? `&x=${'y'.repeat(6_000)}` : '');
      return probe('GET /v1/orders?query', requestOf('GET', `/v1/orders?${q}`, { auth: a }));
    }));

  it('GET /v1/orders/{id}', () =>
    fuzz('GET /v1/orders/{id}', fc.tuple(idSegment, shopAuth), ([id, a]) => probe('GET /v1/orders/{id}', requestOf('GET', `/v1/orders/${id}`, { auth: a }))));

  it('POST /v1/orders/{id}/cancel', () =>
    fuzz('POST /v1/orders/{id}/cancel', fc.tuple(idSegment, jsonRequest(fc.constant({}))), ([id, s]) =>
      probe('POST /v1/orders/{id}/cancel', requestOf('POST', `/v1/orders/${id}/cancel`, s)),
    ));

  it('POST /v1/orders/{id}/refunds', () =>
    fuzz('POST /v1/orders/{id}/refunds', fc.tuple(idSegment, jsonRequest(validRefund, true)), ([id, s]) =>
      probe('POST /v1/orders/{id}/refunds', requestOf('POST', `/v1/orders/${id}/refunds`, s)),
    ));

  it('POST /v1/orders/{id}/shipments', () =>
    fuzz('POST /v1/orders/{id}/shipments', fc.tuple(idSegment, jsonRequest(validShipment)), ([id, s]) =>
      probe('POST /v1/orders/{id}/shipments', requestOf('POST', `/v1/orders/${id}/shipments`, s)),
    ));

  const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  const adminAuth = fc.oneof(
    { weight: 6, arbitrary: fc.constant(basic(ADMIN.user, ADMIN.password)) },
    {
      weight: 3,
      arbitrary: fc.constantFrom(
        undefined, basic(ADMIN.user, 'wrong'), basic('root', ADMIN.password), basic(ADMIN.user, ''), basic('', ''), `Basic ${Buffer.from(ADMIN.user).toString('base64')}`,
        'Basic', 'Basic !!!', 'Basic ====', `basic ${Buffer.from(`${ADMIN.user}:${ADMIN.password}`).toString('base64')}`, 'Bearer x', `${ADMIN.user}:${ADMIN.password}`,
        basic(ADMIN.user, `${ADMIN.password}\u0000`), basic(ADMIN.user, ADMIN.password.toUpperCase()), basic(`${ADMIN.user}:${ADMIN.password}`, ''),
      ),
    },
    { weight: 1, arbitrary: fc.tuple(fc.string({ maxLength: 20 }), fc.string({ maxLength: 20 })).map(([u, p]) => basic(u, p)) },
    { weight: 1, arbitrary: headerText(60) },
  );
  it('POST /v1/admin/shops', () =>
    fuzz(
      'POST /v1/admin/shops',
      fc.record({ auth: adminAuth, contentType, encoding, body: bodyFor(validShop) }),
      (s) => probe('POST /v1/admin/shops', requestOf('POST', '/v1/admin/shops', s)),
    ));

  const notifyHeaders = fc.array(
    fc.tuple(
      fc.constantFrom(
        'Stripe-Signature', 'Wechatpay-Signature', 'Wechatpay-Timestamp', 'Wechatpay-Nonce', 'Wechatpay-Serial', 'Wechatpay-Signature-Type',
        'Paypal-Auth-Algo', 'Paypal-Cert-Url', 'Paypal-Transmission-Id', 'Paypal-Transmission-Sig', 'Paypal-Transmission-Time',
      ),
      fc.oneof(
        fc.constantFrom('t=1,v1=00', `t=${Math.floor(Date.now() / 1000)},v1=abc`, 't=,v1=', 't=1e99,v1=zz', '1', '0', '-1', 'SHA256withRSA', 'http://127.0.0.1:1/cert', '', 'x'.repeat(2_000)),
        headerText(60),
      ),
    ),
    { maxLength: 6 },
  );
  const notifyBody = fc.oneof(
    bodyFor(fc.constant({ id: 'evt_1', type: 'payment_intent.succeeded', data: { object: { id: 'pi_1', amount: 100, metadata: { order_id: 'x' } } } })),
    fc.constantFrom('trade_status=TRADE_SUCCESS&out_trade_no=x&sign=abc&sign_type=RSA2', 'sign=%zz&a=%', '&&&=', '='.repeat(1000)),
    fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 20 }), { maxKeys: 6 }).map((d) => new URLSearchParams(d).toString()),
  );
  it('POST /v1/payments/notify/{method}', () =>
    fuzz(
      'POST /v1/payments/notify/{method}',
      fc.record({
        method: fc.oneof(
          { weight: 5, arbitrary: fc.constantFrom('alipay', 'wechat_pay', 'paypal', 'card') },
          { weight: 1, arbitrary: segment(fc.oneof(fc.constantFrom('bitcoin', 'CARD', '', '%zz', '..', 'card%00'), fc.string({ maxLength: 12 }))) },
        ),
        contentType,
        encoding,
        extra: notifyHeaders,
        body: notifyBody,
      }),
      (s) => probe('POST /v1/payments/notify/{method}', requestOf('POST', `/v1/payments/notify/${s.method}`, s)),
    ));

  it('/v1/webhook-deliveries', () =>
    fuzz(
      '/v1/webhook-deliveries',
      fc.oneof(
        fc.tuple(fc.constant('GET'), fc.array(queryPart, { maxLength: 4 }).map((p) => `/v1/webhook-deliveries?${p.map(([k, v]) => `${k}=${v}`).join('&')}`)),
        fc.tuple(fc.constant('POST'), idSegment.map((id) => `/v1/webhook-deliveries/${id}/redeliver`)),
      ).chain(([method, path]) => fc.record({ method: fc.constant(method), path: fc.constant(path), s: jsonRequest(fc.constant({})) })),
      ({ method, path, s }) => probe('/v1/webhook-deliveries', requestOf(method, path, s)),
    ));

  const anyPath = fc.array(
    fc.oneof(
      // Not `queues` (Bull Board's own API answers its UI in its own shapes) nor `sandbox` (it plays the providers).
      fc.constantFrom('v1', 'orders', 'products', 'admin', 'shops', 'payments', 'notify', 'card', 'refunds', 'cancel', 'shipments', 'webhook-deliveries', 'api', '..', '.', ''),
      segment(fc.string({ unit: 'grapheme', maxLength: 12 })),
      idSegment,
    ),
    { minLength: 1, maxLength: 6 },
  );
  it('any path, any method', () =>
    fuzz(
      'any path, any method',
      fc.record({
        method: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'),
        path: fc.tuple(fc.constantFrom('/', '/v1/', '/admin/', '//', '/v1//'), anyPath).map(([p, segs]) => p + segs.join('/')),
        s: jsonRequest(fc.constant({ a: 1 })),
      }),
      ({ method, path, s }) => probe('any path, any method', requestOf(method, path, s)),
    ));
});

describe('text Postgres cannot hold (NUL) is refused, never stored as something else', () => {
  const send = (method: string, p: string, body: unknown, extra: Array<[string, string]> = [], auth = `Bearer ${keyA}`) =>
    rawRequest(sys.base, { method, path: p, headers: [['Authorization', auth], ['Content-Type', 'application/json'], ...extra], body: JSON.stringify(body) });
  const refusedOrKept = (r: RawResponse, stored: () => Promise<unknown>, sent: unknown) =>
    r.status === 400 ? expect(r.headers['content-type']).toMatch(/^application\/problem\+json/) : stored().then((got) => expect(got, `answered ${r.status}`).toBe(sent));

  it('a sku with NUL', async () => {
    const r = await send('PUT', '/v1/products/nul%00sku', { name: 'n', priceMinor: 1, currency: 'CNY', stock: 1 });
    await refusedOrKept(r, async () => r.json?.sku, 'nul\u0000sku');
  });

  it('a product name with NUL', async () => {
    const r = await send('PUT', '/v1/products/NUL-NAME', { name: 'a\u0000b', priceMinor: 1, currency: 'CNY', stock: 1 });
    await refusedOrKept(r, async () => (await rawRequest(sys.base, { method: 'GET', path: '/v1/products/NUL-NAME', headers: [['Authorization', `Bearer ${keyA}`]] })).json?.name, 'a\u0000b');
  });

  it('an order externalId with NUL', async () => {
    const r = await send('POST', '/v1/orders', orderBody([{ sku: 'TEA-1', quantity: 1 }], { externalId: 'ext\u0000id' }), [['Idempotency-Key', 'nul-ext-1']]);
    await refusedOrKept(r, async () => (await rawRequest(sys.base, { method: 'GET', path: `/v1/orders/${r.json?.id}`, headers: [['Authorization', `Bearer ${keyA}`]] })).json?.externalId, 'ext\u0000id');
  });

  it('a shop name with NUL', async () => {
    const r = await send('POST', '/v1/admin/shops', { name: 'shop\u0000name' }, [], `Basic ${Buffer.from(`${ADMIN.user}:${ADMIN.password}`).toString('base64')}`);
    await refusedOrKept(r, async () => (await sys.web.db.rows<{ name: string }>('SELECT name FROM shops WHERE id = $1', [r.json?.id]))[0]?.name, 'shop\u0000name');
  });
});
