import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createCarrierClients } from '../../src/carriers/carriers.js';
import { Kuaidi100Carrier, type Kuaidi100Options } from '../../src/carriers/kuaidi100.carrier.js';
import { SfCarrier, sfMsgDigest } from '../../src/carriers/sf.carrier.js';
import { ZtoCarrier } from '../../src/carriers/zto.carrier.js';
import { DomainError } from '../../src/domain/errors.js';
import { startReplayServer } from '../support/replay-server.js';

/** Recorded answers, shaped as each carrier documents them (docs/providers.md sections 5-6). */
const fixture = (name: string) => JSON.parse(readFileSync(new URL(`../fixtures/carriers/${name}.json`, import.meta.url), 'utf8')) as Record<string, unknown>;
const K = fixture('kuaidi100');
const SF = fixture('sf');
const ZTO = fixture('zto');

const md5 = (s: string) => createHash('md5').update(s, 'utf8');

/** The error a promise rejects with, as a plain shape to compare. */
async function failure(p: Promise<unknown>) {
  const e = await p.then(() => null, (err: unknown) => err);
  expect(e).toBeInstanceOf(DomainError);
  const d = e as DomainError;
  return { name: d.name, code: d.code, permanent: d.permanent, retryAfterSeconds: d.options.retryAfterSeconds };
}

let server: Awaited<ReturnType<typeof startReplayServer>>;
beforeAll(async () => void (server = await startReplayServer()));
afterAll(() => server.close());
beforeEach(() => void server.requests.splice(0));

describe('kuaidi100 adapter', () => {
  // A waybill whose carrier Kuaidi100 did not recognise is asked about under the default com.
  const client = (options: Partial<Kuaidi100Options> = { defaultCom: 'zhongtong' }) =>
    new Kuaidi100Carrier({ baseUrl: server.url, customer: 'CUST0001', key: 'kEyAbC123', timeoutMs: 2_000, serviceLevelHours: 72, minPollIntervalMs: 0, ...options });

  it('sends a signed form and reads an in-transit answer with its predicted arrival', async () => {
    server.reply({ body: K.inTransit });
    const snap = await client().track({ trackingNumber: '73100012345678', phone: '138 0000 5678', fromCity: '深圳', toCity: '上海' });

    const [req] = server.requests;
    expect(req?.method).toBe('POST');
    expect(req?.url).toBe('/poll/query.do');
    expect(req?.headers['content-type']).toMatch(/^application\/x-www-form-urlencoded/);
    const form = new URLSearchParams(req!.body);
    const param = form.get('param')!;
    expect(form.get('customer')).toBe('CUST0001');
    expect(form.get('sign')).toBe(md5(param + 'kEyAbC123' + 'CUST0001').digest('hex').toUpperCase());
    expect(JSON.parse(param)).toEqual({ com: 'zhongtong', num: '73100012345678', phone: '13800005678', from: '深圳', to: '上海', resultv2: '8', show: '0', order: 'asc' });

    expect(snap.status).toBe('in_transit');
    expect(snap.estimatedDeliveryAt).toEqual(new Date('2025-03-10T10:00:00Z'));
    expect(snap.events.map((e) => e.status)).toEqual(['in_transit', 'in_transit', 'in_transit']);
    expect(snap.events[0]).toEqual({ at: new Date('2025-03-08T06:30:05Z'), status: 'in_transit', description: '【深圳市】 快件已由【深圳龙华】揽收', location: '广东,深圳市' });
  });

  it('reads a delivered answer, events oldest first', async () => {
    server.reply({ body: K.delivered });
    const snap = await client().track({ trackingNumber: '73100012345678' });
    expect(snap.status).toBe('delivered');
    expect(snap.estimatedDeliveryAt).toBeNull();
    expect(snap.events.map((e) => e.status)).toEqual(['in_transit', 'out_for_delivery', 'delivered']);
    expect(snap.events.at(-1)?.at).toEqual(new Date('2025-03-10T03:47:52Z'));
  });

  it('sorts a plain answer oldest first; events without a status are in transit until the last', async () => {
    server.reply({ body: K.plainDelivered });
    const snap = await client().track({ trackingNumber: 'SF1234567890123' });
    expect(snap.status).toBe('delivered');
    expect(snap.events.map((e) => [e.at.toISOString(), e.status, e.location])).toEqual([
      ['2025-03-08T08:26:09.000Z', 'in_transit', null],
      ['2025-03-08T23:12:45.000Z', 'in_transit', null],
      ['2025-03-09T03:02:17.000Z', 'delivered', null],
    ]);
  });

  it.each([
    ['noResultYet', 'TransientError', 'carrier_unavailable'],
    ['serverError', 'TransientError', 'carrier_unavailable'],
    ['busy', 'TransientError', 'carrier_unavailable'],
    ['badSign', 'PermanentError', 'carrier_rejected'],
    ['badRequest', 'PermanentError', 'carrier_rejected'],
    ['keyExpired', 'PermanentError', 'carrier_rejected'],
  ])('classifies returnCode answer %s as %s %s', async (name, errorName, code) => {
    server.reply({ body: K[name] });
    expect(await failure(client().track({ trackingNumber: '73100012345678' }))).toMatchObject({ name: errorName, code });
  });

  it('turns 429 with Retry-After into rate_limited, and 503 or a non-JSON 200 into carrier_unavailable', async () => {
    server.reply({ status: 429, headers: { 'retry-after': '120' }, body: 'slow down' }, { status: 503, body: 'down' }, { body: '<html>maintenance</html>' });
    const c = client();
    expect(await failure(c.track({ trackingNumber: '73100012345678' }))).toEqual({ name: 'TransientError', code: 'rate_limited', permanent: false, retryAfterSeconds: 120 });
    expect(await failure(c.track({ trackingNumber: '73100012345678' }))).toMatchObject({ code: 'carrier_unavailable', permanent: false });
    expect(await failure(c.track({ trackingNumber: '73100012345678' }))).toMatchObject({ code: 'carrier_unavailable', permanent: false });
  });

  it('queries one waybill at most once per 30 minutes', async () => {
    server.reply({ body: K.inTransit });
    let now = Date.parse('2025-03-09T00:00:00Z');
    const c = new Kuaidi100Carrier({ baseUrl: server.url, customer: 'C', key: 'K', defaultCom: 'zhongtong', timeoutMs: 2_000, serviceLevelHours: 72, now: () => now });
    await c.track({ trackingNumber: '73100012345678' });
    now += 10 * 60_000;
    expect(await failure(c.track({ trackingNumber: '73100012345678' }))).toMatchObject({ code: 'rate_limited', retryAfterSeconds: 20 * 60 });
    await c.track({ trackingNumber: '731000999999' }); // another waybill is not held back
    now += 20 * 60_000;
    await c.track({ trackingNumber: '73100012345678' });
    expect(server.requests).toHaveLength(3);
  });

  it('refuses a waybill whose carrier it cannot tell, without calling out', async () => {
    expect(await failure(client({}).track({ trackingNumber: 'XYZ-1' }))).toMatchObject({ name: 'PermanentError', code: 'carrier_rejected' });
    expect(server.requests).toHaveLength(0);
  });

  it('asks its number recognition which carrier a waybill is, falling back to the default com when it names none', async () => {
    server.reply(
      { body: [{ lengthPre: 15, comCode: 'yuantong', name: '圆通速递' }, { comCode: 'yunda' }] },
      { body: [] },
      { body: { result: false, returnCode: '201', message: '不是有效的快递单号' } },
      { status: 503, body: 'down' },
    );
    const c = client({ autonumberBaseUrl: `${server.url}/www`, defaultCom: 'ems' });
    expect(await c.recognise('YT6186594166532')).toBe('yuantong');
    const [req] = server.requests;
    expect([req?.method, req?.url]).toEqual(['POST', '/www/autonumber/auto?num=YT6186594166532&key=kEyAbC123']);
    expect(await c.recognise('1')).toBe('ems');
    expect(await c.recognise('2')).toBe('ems');
    expect(await failure(c.recognise('3'))).toMatchObject({ name: 'TransientError', code: 'carrier_unavailable' });
    server.reply({ body: [] });
    expect(await client({ autonumberBaseUrl: server.url }).recognise('4')).toBeNull();
    // A configured com wins without asking.
    const asked = server.requests.length;
    expect(await client({ com: 'shunfeng' }).recognise('SF1')).toBe('shunfeng');
    expect(server.requests).toHaveLength(asked);
  });

  it('subscribes a waybill to push: 200 and 501 (already followed) succeed, 500 is transient, 700 a refusal', async () => {
    expect(client().subscribe).toBeUndefined();
    const c = client({ push: { callbackUrl: 'https://ow.example/v1/carriers/kuaidi100/notify', salt: 'saltsalt' } });
    server.reply(
      { body: { result: true, returnCode: '200', message: '提交成功' } },
      { body: { result: false, returnCode: '501', message: '重复订阅' } },
      { body: { result: false, returnCode: '500', message: '服务器错误' } },
      { body: { result: false, returnCode: '700', message: '订阅方的订阅数据存在错误' } },
    );
    const query = { trackingNumber: 'YT1', carrierCom: 'yuantong', phone: '+86 138 0000 5678', fromCity: '杭州', toCity: '上海' };
    await c.subscribe!(query);
    await c.subscribe!(query);
    expect(await failure(c.subscribe!(query))).toMatchObject({ name: 'TransientError', code: 'carrier_unavailable' });
    expect(await failure(c.subscribe!(query))).toMatchObject({ name: 'PermanentError', code: 'carrier_rejected' });
    const [req] = server.requests;
    expect([req?.method, req?.url]).toEqual(['POST', '/poll']);
    expect(req?.headers['content-type']).toMatch(/^application\/x-www-form-urlencoded/);
    const form = new URLSearchParams(req!.body);
    expect(form.get('schema')).toBe('json');
    expect(JSON.parse(form.get('param')!)).toEqual({
      company: 'yuantong', number: 'YT1', key: 'kEyAbC123', from: '杭州', to: '上海',
      parameters: { callbackurl: 'https://ow.example/v1/carriers/kuaidi100/notify', salt: 'saltsalt', resultv2: '4', phone: '13800005678' },
    });
  });
});

describe('sf adapter', () => {
  const client = () => new SfCarrier({ baseUrl: server.url, partnerId: 'PARTNER1', checkWord: 'chkWord', timeoutMs: 2_000, serviceLevelHours: 48 });

  it('digests like the official samples (vector from Python quote_plus + md5 + base64)', () => {
    expect(sfMsgDigest('{"trackingNumber":["SF1"]}', '1700000000000', 'chkWord')).toBe('cex3XoNqpoRcMcvMMgnpBQ==');
  });

  it('sends a signed route query and maps opCodes', async () => {
    server.reply({ body: SF.routes });
    const snap = await client().track({ trackingNumber: 'SF1234567890123', phone: '+86 138-0000-5678' });

    const [req] = server.requests;
    expect(req?.url).toBe('/std/service');
    const form = new URLSearchParams(req!.body);
    const msgData = form.get('msgData')!;
    const timestamp = form.get('timestamp')!;
    expect(form.get('partnerID')).toBe('PARTNER1');
    expect(form.get('serviceCode')).toBe('EXP_RECE_SEARCH_ROUTES');
    expect(form.get('requestID')).toMatch(/^[0-9a-f-]{36}$/);
    expect(timestamp).toMatch(/^\d{13}$/);
    expect(form.get('msgDigest')).toBe(md5(encodeURIComponent(msgData + timestamp + 'chkWord')).digest('base64'));
    expect(JSON.parse(msgData)).toEqual({ language: '0', trackingType: '1', trackingNumber: ['SF1234567890123'], methodType: '1', checkPhoneNo: '5678' });

    expect(snap.status).toBe('delivered');
    expect(snap.estimatedDeliveryAt).toBeNull();
    expect(snap.events.map((e) => e.status)).toEqual(['in_transit', 'in_transit', 'in_transit', 'out_for_delivery', 'delivered']);
    expect(snap.events[0]).toEqual({ at: new Date('2025-03-08T08:26:09Z'), status: 'in_transit', description: '顺丰速运 已收取快件', location: '深圳市' });
  });

  it('reads a waybill with no routes yet as info_received', async () => {
    server.reply({ body: SF.noRoutes });
    expect(await client().track({ trackingNumber: 'SF1234567890123' })).toEqual({ status: 'info_received', events: [], estimatedDeliveryAt: null });
  });

  it.each([
    ['refused', 'PermanentError', 'carrier_rejected'],
    ['badDigest', 'PermanentError', 'carrier_rejected'],
    ['throttled', 'TransientError', 'rate_limited'],
    ['systemError', 'TransientError', 'carrier_unavailable'],
  ])('classifies %s as %s %s', async (name, errorName, code) => {
    server.reply({ body: SF[name] });
    expect(await failure(client().track({ trackingNumber: 'SF1234567890123' }))).toMatchObject({ name: errorName, code });
  });
});

describe('zto adapter', () => {
  const client = () => new ZtoCarrier({ baseUrl: server.url, appKey: 'APPKEY1', appSecret: 'S3cret', timeoutMs: 2_000, serviceLevelHours: 72 });

  it('sends a digested JSON query and maps scan types', async () => {
    server.reply({ body: ZTO.track });
    const snap = await client().track({ trackingNumber: '73100012345678', phone: '13800005678' });

    const [req] = server.requests;
    expect(req?.url).toBe('/zto.merchant.waybill.track.query');
    expect(req?.headers['content-type']).toMatch(/^application\/json/);
    expect(req?.headers['x-companyid']).toBe('APPKEY1');
    expect(req?.headers['x-datadigest']).toBe(md5(req!.body + 'S3cret').digest('base64'));
    expect(JSON.parse(req!.body)).toEqual({ billCode: '73100012345678', mobilePhone: '5678' });

    expect(snap.status).toBe('out_for_delivery');
    expect(snap.events.map((e) => e.status)).toEqual(['in_transit', 'in_transit', 'in_transit', 'out_for_delivery']);
    expect(snap.events[0]).toMatchObject({ at: new Date('2025-03-08T06:30:05Z'), location: '深圳市' });
  });

  it('reads a problem scan that could not reach the recipient as a failed attempt, with string dates and sites', async () => {
    server.reply({ body: ZTO.problem });
    const snap = await client().track({ trackingNumber: '73100012345678' });
    expect(snap.status).toBe('failed_attempt');
    expect(snap.events[0]).toEqual({ at: new Date('2025-03-08T06:30:05Z'), status: 'in_transit', description: '已揽收', location: '深圳龙华' });
  });

  it('reads the sign-for after a return scan as the sender taking the parcel back, not as delivered', async () => {
    server.reply({ body: ZTO.returned });
    const snap = await client().track({ trackingNumber: '73100012345678' });
    expect(snap.status).toBe('returned_to_sender');
    expect(snap.events.map((e) => e.status)).toEqual(['in_transit', 'out_for_delivery', 'exception', 'exception', 'in_transit', 'returned_to_sender']);
  });

  it('classifies a bad digest as permanent and a busy system as transient', async () => {
    server.reply({ body: ZTO.badDigest }, { body: ZTO.busy });
    expect(await failure(client().track({ trackingNumber: '731' }))).toMatchObject({ name: 'PermanentError', code: 'carrier_rejected' });
    expect(await failure(client().track({ trackingNumber: '731' }))).toMatchObject({ name: 'TransientError', code: 'carrier_unavailable' });
  });
});

describe('createCarrierClients', () => {
  it('routes SF through kuaidi100 when asked (subscribed through it too), and refuses carriers with no credentials', async () => {
    const clients = createCarrierClients({
      timeoutMs: 2_000,
      sandbox: { baseUrl: `${server.url}/sandbox` },
      kuaidi100: { baseUrl: server.url, customer: 'C', key: 'K', minPollIntervalMs: 0, push: { callbackUrl: 'https://ow.example/cb', salt: 'saltsalt' } },
      sf: { viaKuaidi100: true },
    });
    server.reply({ body: K.delivered });
    expect((await clients.sf.track({ trackingNumber: 'SF1234567890123', phone: '5678' })).status).toBe('delivered');
    expect(JSON.parse(new URLSearchParams(server.requests[0]!.body).get('param')!)).toMatchObject({ com: 'shunfeng', phone: '5678' });
    expect(clients.sf.serviceLevelHours).toBe(48);
    expect(clients.kuaidi100.minPollIntervalMs).toBe(0);
    expect(clients.sandbox.minPollIntervalMs).toBe(0);
    // SF through Kuaidi100 is subscribed on the same account, and its news comes by Kuaidi100's push.
    expect(clients.kuaidi100).toMatchObject({ pushedBy: 'kuaidi100', resubscribeAfterMs: 30 * 60_000 });
    expect(clients.sf).toMatchObject({ pushedBy: 'kuaidi100', code: 'sf' });
    expect(clients.sf.subscribe).toBeDefined();
    // SF with credentials of its own is polled only.
    const push = { callbackUrl: 'https://ow.example/cb', salt: 'saltsalt' };
    const direct = createCarrierClients({
      sandbox: { baseUrl: server.url },
      kuaidi100: { baseUrl: server.url, customer: 'C', key: 'K', push },
      sf: { baseUrl: server.url, partnerId: 'P', checkWord: 'W' },
    });
    expect(direct.sf.subscribe).toBeUndefined();
    expect(direct.sf.pushedBy).toBeUndefined();
    expect(await failure(clients.zto.track({ trackingNumber: '731' }))).toMatchObject({ name: 'PermanentError', code: 'carrier_rejected' });
  });
});
