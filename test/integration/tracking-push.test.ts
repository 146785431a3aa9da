import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { orderEventTypes } from '../support/db.js';
import { boxShop, orderBody, waitForStatus, type Client } from '../support/client.js';
import { startSystem, type TestSystem } from '../support/system.js';
import { startPushedSystem, until, type PushedSystem } from '../support/pushed-system.js';
import { kuaidi100PushEnv, startKuaidi100Fake } from '../support/kuaidi100-fake.js';
import { sleep } from '../support/processes.js';
import { createDatabase, type Database } from '../../src/db/database.js';
import { kuaidi100PushSign } from '../../src/carriers/kuaidi100.push.js';

/** The push of the unit tests' fixture and its sign, computed with Python and md5sum (test/unit/kuaidi100-push.test.ts). */
const PARAM = readFileSync(new URL('../fixtures/carriers/kuaidi100-push-param.json', import.meta.url), 'utf8').replace(/\n$/, '');
const SALT = 's4ltS4ltS4lt';
const SIGN = '0D953BADAD9F1F9FAE2FFBDD4658AA8E';
const NUMBER = 'YT6186594166532';
const SF_NUMBER = 'SF1234567890123';

let sys: TestSystem;
let db: Database;
let shop: Client;
let fake: PushedSystem['fake'];
let sink: PushedSystem['sink'];
let pushed: PushedSystem | undefined;

beforeAll(async () => {
  pushed = await startPushedSystem('Pushed', SALT, NUMBER, { SF_VIA_KUAIDI100: '1' });
  ({ sys, db, shop, fake, sink } = pushed);
});
afterAll(async () => pushed?.close());

/** A paid order of `c` shipped with this carrier and number: the order's and the shipment's ids. */
async function ship(c: Client, key: string, carrier: string, trackingNumber: string) {
  const placed = await c('POST', '/v1/orders', orderBody([{ sku: 'BOX', quantity: 1 }]), { 'idempotency-key': key });
  const orderId: string = (await waitForStatus(c, placed.json.id, ['paid'])).id;
  const created = await c('POST', `/v1/orders/${orderId}/shipments`, { carrier, trackingNumber });
  expect(created.status, created.text).toBe(201);
  return { orderId, shipmentId: created.json.id as string };
}

const notifyAt = (system: TestSystem, body: string) =>
  fetch(`${system.base}/v1/carriers/kuaidi100/notify`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
const notify = (body: string) => notifyAt(sys, body);
const signedForm = (param: string, sign = kuaidi100PushSign(param, SALT)) => new URLSearchParams({ param, sign }).toString();
/** Kuaidi100's push when it stops following a waybill without news: "3天查询无记录" (no record) or "60天无变化" (no change). */
const abortPush = (nu: string, com: string, message: string) =>
  signedForm(
    JSON.stringify({
      status: 'abort', billstatus: '', message, autoCheck: '0', comOld: '', comNew: '',
      lastResult: { message: '快递公司参数异常：单号不存在或者已经过期', nu, ischeck: '0', condition: '', com, status: '201', state: '0', data: [] },
    }),
  );
type Row = {
  status: string; push_status: string | null; push_renewals: number; push_ended_at: Date | null; carrier_com: string | null;
  next_poll_at: Date; poll_failures: number; last_polled_at: Date | null;
};
const rowIn = async (database: Database, id: string) =>
  (
    await database.rows<Row>(
      `SELECT status, push_status, push_renewals, push_ended_at, carrier_com, next_poll_at, poll_failures, last_polled_at
         FROM shipments WHERE id = $1`,
      [id],
    )
  )[0]!;
const row = (id: string) => rowIn(db, id);
const events = (orderId: string) => orderEventTypes(db, orderId);
const hooks = (orderId: string) =>
  sink.hits
    .map((h) => JSON.parse(h.body))
    .filter((b) => b.data.order.id === orderId)
    .map((b) => b.type as string);

describe('Kuaidi100 push tracking', () => {
  let orderId: string;
  let shipmentId: string;

  it('recognises the waybill and subscribes it from the worker once the shipment is committed', async () => {
    const placed = await shop('POST', '/v1/orders', orderBody([{ sku: 'BOX', quantity: 1 }]), { 'idempotency-key': 'push-1' });
    orderId = (await waitForStatus(shop, placed.json.id, ['paid'])).id;
    const created = await shop('POST', `/v1/orders/${orderId}/shipments`, { carrier: 'kuaidi100', trackingNumber: NUMBER, fromCity: '杭州' });
    expect(created.status, created.text).toBe(201);
    shipmentId = created.json.id;

    const s = await until(
      'subscription',
      () => row(shipmentId),
      (r) => r.push_status === 'subscribed',
    );
    expect(s).toMatchObject({ status: 'info_received', carrier_com: 'yuantong' });
    expect(fake.recognitions).toEqual([NUMBER]);
    expect(fake.subscriptions).toHaveLength(1);
    const [sub] = fake.subscriptions;
    expect(sub!.form.get('schema')).toBe('json');
    expect(sub!.param).toEqual({
      company: 'yuantong',
      number: NUMBER,
      key: 'kEyAbC123',
      from: '杭州',
      to: 'Shanghai',
      parameters: { callbackurl: 'https://orderworks.example/v1/carriers/kuaidi100/notify', salt: SALT, resultv2: '4', phone: '13800000000' },
    });
    // Polling goes on beside push: the first query went out with the recognised com ("no result yet" so far).
    await until(
      'first query',
      async () => fake.queries.length,
      (n) => n >= 1,
    );
    expect(JSON.parse(fake.queries[0]!.get('param')!)).toMatchObject({ com: 'yuantong', num: NUMBER });
  });

  it('refuses a push with a bad signature, and changes nothing', async () => {
    const r = await notify(signedForm(PARAM, SIGN.replace('0D', 'D0')));
    expect(r.status).toBe(400);
    expect(await r.json()).toMatchObject({ result: false, returnCode: '400' });
    expect((await row(shipmentId)).status).toBe('info_received');
    expect(await events(orderId)).not.toContain('shipment.updated');
  });

  it('applies a signed push as a poll: the shipment moves, one shipment.updated; the same push again changes nothing', async () => {
    const r = await notify(signedForm(PARAM, SIGN));
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await r.text()).toBe('{"result":true,"returnCode":"200","message":"成功"}');
    const s = (await shop('GET', `/v1/orders/${orderId}`)).json.shipments[0];
    expect(s).toMatchObject({ id: shipmentId, status: 'out_for_delivery' });
    expect(s.events.map((e: { status: string; at: string }) => [e.at, e.status])).toEqual([
      ['2025-03-09T10:30:05.000Z', 'info_received'],
      ['2025-03-10T01:12:00.000Z', 'out_for_delivery'],
    ]);
    expect((await events(orderId)).filter((t) => t === 'shipment.updated')).toHaveLength(1);

    const again = await notify(signedForm(PARAM, SIGN));
    expect([again.status, await again.text()]).toEqual([200, '{"result":true,"returnCode":"200","message":"成功"}']);
    expect((await shop('GET', `/v1/orders/${orderId}`)).json.shipments[0].events).toHaveLength(2);
    expect((await events(orderId)).filter((t) => t === 'shipment.updated')).toHaveLength(1);
    await until(
      'the webhook',
      async () => hooks(orderId),
      (h) => h.includes('shipment.updated'),
    );
    await sleep(1_000);
    expect(hooks(orderId).filter((t) => t === 'shipment.updated')).toHaveLength(1);
  });

  it('reads a push of a long history, larger than a payment notification may be (a parcel on a long route)', async () => {
    const step = { context: '【上海市】快件已到达上海浦东转运中心，正在发往下一站，请耐心等待'.repeat(2), time: '2025-03-09 18:30:05', ftime: '2025-03-09 18:30:05', status: '在途', statusCode: '1002', areaCode: null, areaName: null, location: '' };
    const param = JSON.stringify({
      status: 'polling', billstatus: 'got', message: '', autoCheck: '0', comOld: '', comNew: '',
      lastResult: { message: 'ok', nu: 'YT0000000000000', ischeck: '0', com: 'yuantong', status: '200', state: '0', data: Array.from({ length: 300 }, () => step) },
    });
    const body = signedForm(param);
    expect(body.length).toBeGreaterThan(3 * 65_536);
    const r = await notify(body);
    expect(r.status, await r.clone().text()).toBe(200);
    expect(await r.json()).toMatchObject({ result: true, returnCode: '200' });
  });

  it('answers an oversized push 413 problem+json without reading it', async () => {
    const r = await notify(`param=${'x'.repeat(600_000)}&sign=${SIGN}`);
    expect(r.status).toBe(413);
    expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await r.json()).toMatchObject({ status: 413 });
  });

  it('keeps the estimate a poll had from the carrier when a push brings none: polls and pushes do not swap estimates', async () => {
    const carrierEstimate = new Date('2030-01-01T00:00:00Z');
    await db.rows(`UPDATE shipments SET estimated_delivery_at = $2, estimate_source = 'carrier' WHERE id = $1`, [shipmentId, carrierEstimate]);
    expect((await notify(signedForm(PARAM, SIGN))).status).toBe(200);
    expect((await shop('GET', `/v1/orders/${orderId}`)).json.shipments[0].estimatedDeliveryAt).toBe(carrierEstimate.toISOString());
    expect((await events(orderId)).filter((t) => t === 'shipment.updated')).toHaveLength(1);
  });

  it('hands a shipment whose subscription was aborted back to polling at its usual pace', async () => {
    const abort = JSON.stringify({
      status: 'abort',
      billstatus: '',
      message: '60天无变化',
      lastResult: { message: 'ok', state: '5', status: '200', ischeck: '0', com: 'yuantong', nu: NUMBER, data: [] },
    });
    const r = await notify(signedForm(abort));
    expect(r.status).toBe(200);
    const s = await row(shipmentId);
    expect(s).toMatchObject({ status: 'out_for_delivery', push_status: 'ended' });
    expect(s.next_poll_at.getTime()).toBeLessThanOrEqual(Date.now() + 1_000);
    expect((await events(orderId)).filter((t) => t === 'shipment.updated')).toHaveLength(1);
  });

  it('subscribes an SF parcel followed through Kuaidi100 with the recipient phone, and applies its pushes to it as `sf`', async () => {
    const { orderId: sfOrder, shipmentId: sfShipment } = await ship(shop, 'push-sf', 'sf', SF_NUMBER);
    const s = await until(
      'the SF subscription',
      () => row(sfShipment),
      (r) => r.push_status === 'subscribed',
    );
    expect(s.carrier_com).toBe('shunfeng');
    expect(fake.subscriptionsOf(SF_NUMBER).map((x) => x.param)).toEqual([
      {
        company: 'shunfeng',
        number: SF_NUMBER,
        key: 'kEyAbC123',
        from: '',
        to: 'Shanghai',
        parameters: { callbackurl: 'https://orderworks.example/v1/carriers/kuaidi100/notify', salt: SALT, resultv2: '4', phone: '13800000000' },
      },
    ]);
    // Its com is fixed: no number recognition is asked.
    expect(fake.recognitions).not.toContain(SF_NUMBER);

    const param = JSON.stringify({
      status: 'polling', billstatus: '', message: '', autoCheck: '0', comOld: '', comNew: '',
      lastResult: {
        message: 'ok', state: '0', status: '200', ischeck: '0', com: 'shunfeng', nu: SF_NUMBER,
        data: [
          { time: '2025-03-10 08:00:00', ftime: '2025-03-10 08:00:00', context: '快件已发车', status: '在途' },
          { time: '2025-03-09 18:00:00', ftime: '2025-03-09 18:00:00', context: '顺丰速运 已收取快件', status: '已揽收' },
        ],
      },
    });
    const r = await notify(signedForm(param));
    expect([r.status, await r.text()]).toEqual([200, '{"result":true,"returnCode":"200","message":"成功"}']);
    const shown = (await shop('GET', `/v1/orders/${sfOrder}`)).json.shipments[0];
    expect(shown).toMatchObject({ id: sfShipment, carrier: 'sf', trackingNumber: SF_NUMBER, status: 'in_transit' });
    expect(shown.events.map((e: { at: string }) => e.at)).toEqual(['2025-03-09T10:00:00.000Z', '2025-03-10T00:00:00.000Z']);
    expect((await events(sfOrder)).filter((t) => t === 'shipment.updated')).toHaveLength(1);
  });

  it('applies a push only to the parcels of the carrier it names, not to another carrier\'s waybill of the same digits', async () => {
    const digits = '773000000000001';
    fake.coms.set(digits, 'yuantong');
    const yto = await ship(shop, 'same-digits-yto', 'kuaidi100', digits);
    const sf = await ship(shop, 'same-digits-sf', 'sf', digits);
    for (const id of [yto.shipmentId, sf.shipmentId]) await until('both subscribed', () => row(id), (r) => r.push_status === 'subscribed');
    expect([(await row(yto.shipmentId)).carrier_com, (await row(sf.shipmentId)).carrier_com]).toEqual(['yuantong', 'shunfeng']);

    const param = JSON.stringify({
      status: 'polling', billstatus: '', message: '', autoCheck: '0', comOld: '', comNew: '',
      lastResult: {
        message: 'ok', state: '0', status: '200', ischeck: '0', com: 'yuantong', nu: digits,
        data: [{ time: '2025-03-09 18:00:00', ftime: '2025-03-09 18:00:00', context: '圆通速递 已揽收', status: '已揽收' }],
      },
    });
    expect((await notify(signedForm(param))).status).toBe(200);
    expect((await shop('GET', `/v1/orders/${yto.orderId}`)).json.shipments[0]).toMatchObject({ carrier: 'kuaidi100', status: 'in_transit' });
    const untouched = (await shop('GET', `/v1/orders/${sf.orderId}`)).json.shipments[0];
    expect(untouched).toMatchObject({ carrier: 'sf', status: 'info_received' });
    expect(untouched.events.filter((e: { description: string }) => e.description.includes('圆通'))).toEqual([]);
  });
});

describe('Kuaidi100 push beside SF with credentials of its own, and subscriptions that lapse', () => {
  let sysB: TestSystem;
  let dbB: Database;
  let shopB: Client;
  let fakeB: Awaited<ReturnType<typeof startKuaidi100Fake>>;
  const rowB = (id: string) => rowIn(dbB, id);
  /** What Kuaidi100 answers a query of a waybill it has records of (oldest first, as queries ask). */
  const moving = (nu: string) => ({
    message: 'ok', state: '0', status: '200', ischeck: '0', com: 'yuantong', nu,
    data: [{ time: '2025-03-09 18:30:05', ftime: '2025-03-09 18:30:05', context: '已揽收', status: '已揽收' }],
  });
  /** Waits until the waybill has been queried `more` times after now: polls that ran, whatever they did. */
  const polled = async (nu: string, more: number) => {
    const seen = fakeB.queriesOf(nu).length;
    await until(`${more} more queries of ${nu}`, async () => fakeB.queriesOf(nu).length, (n) => n >= seen + more);
  };
  /** Kuaidi100's wait before a waybill it stopped following may be subscribed again has passed; the shipment is due. */
  const halfAnHourLater = (id: string) =>
    dbB.rows(`UPDATE shipments SET push_ended_at = push_ended_at - interval '31 minutes', next_poll_at = now() WHERE id = $1`, [id]);

  beforeAll(async () => {
    fakeB = await startKuaidi100Fake();
    sysB = await startSystem({
      env: {
        TRACKING_REFRESH_EVERY_MS: '300',
        ...kuaidi100PushEnv(fakeB.url, SALT),
        // Against the fake only: these waybills are queried again within Kuaidi100's half hour.
        KUAIDI100_MIN_POLL_INTERVAL_MS: '0',
        SF_BASE_URL: fakeB.url,
        SF_PARTNER_ID: 'PARTNER',
        SF_CHECK_WORD: 'check-word',
      },
    });
    shopB = await boxShop(sysB.base, 'Pushed');
    dbB = createDatabase(sysB.config.databaseUrl, { poolMax: 2 });
  });
  afterAll(async () => {
    await dbB?.close();
    await sysB?.close();
    fakeB?.close();
  });

  it('does not subscribe an SF parcel tracked with SF\'s own credentials', async () => {
    const { shipmentId } = await ship(shopB, 'direct-sf', 'sf', SF_NUMBER);
    // The fake has no SF API: its poll fails (after any subscription, which would come first) and is counted.
    const s = await until(
      'the SF poll',
      () => rowB(shipmentId),
      (r) => r.poll_failures >= 1,
    );
    expect(s.push_status).toBeNull();
    expect(fakeB.subscriptions).toEqual([]);
  });

  it('subscribes again, once, a waybill whose subscription ended for want of records once a poll finds records', async () => {
    const nu = 'YT7700000000001';
    fakeB.coms.set(nu, 'yuantong');
    fakeB.answers.set(nu, moving(nu));
    const { shipmentId } = await ship(shopB, 'renew-1', 'kuaidi100', nu);
    await until('the first subscription', () => rowB(shipmentId), (r) => r.push_status === 'subscribed' && r.status === 'in_transit');
    expect(fakeB.subscriptionsOf(nu)).toHaveLength(1);

    fakeB.end('yuantong', nu);
    expect((await notifyAt(sysB, abortPush(nu, 'yuantong', '3天查询无记录'))).status).toBe(200);
    expect(await rowB(shipmentId)).toMatchObject({ push_status: 'lapsed', push_renewals: 0 });
    // Polls that find records within Kuaidi100's half hour after the end do not subscribe yet.
    await polled(nu, 2);
    expect(fakeB.subscriptionsOf(nu)).toHaveLength(1);

    await halfAnHourLater(shipmentId);
    const renewed = await until('the renewal', () => rowB(shipmentId), (r) => r.push_status === 'subscribed');
    expect(renewed.push_renewals).toBe(1);
    const subs = fakeB.subscriptionsOf(nu);
    expect(subs).toHaveLength(2);
    expect(subs[1]!.param).toEqual(subs[0]!.param);
    expect(subs[1]!.param).toMatchObject({ company: 'yuantong', number: nu, parameters: { phone: '13800000000' } });

    // Polls after it (a retried or replayed poll job reads the same state) subscribe nothing more.
    await dbB.rows('UPDATE shipments SET next_poll_at = now() WHERE id = $1', [shipmentId]);
    await polled(nu, 1);
    await dbB.rows('UPDATE shipments SET next_poll_at = now() WHERE id = $1', [shipmentId]);
    await polled(nu, 1);
    expect(fakeB.subscriptionsOf(nu)).toHaveLength(2);
    expect(await rowB(shipmentId)).toMatchObject({ push_status: 'subscribed', push_renewals: 1 });

    // Renewals are bounded: a second end for want of records is final.
    fakeB.end('yuantong', nu);
    expect((await notifyAt(sysB, abortPush(nu, 'yuantong', '3天查询无记录'))).status).toBe(200);
    expect(await rowB(shipmentId)).toMatchObject({ push_status: 'ended', push_renewals: 1 });
    await halfAnHourLater(shipmentId);
    await polled(nu, 2);
    expect(fakeB.subscriptionsOf(nu)).toHaveLength(2);
  });

  it('does not subscribe again a waybill whose subscription ended after 60 days without change', async () => {
    const nu = 'YT7700000000002';
    fakeB.coms.set(nu, 'yuantong');
    fakeB.answers.set(nu, moving(nu));
    const { shipmentId } = await ship(shopB, 'stale-1', 'kuaidi100', nu);
    await until('the subscription', () => rowB(shipmentId), (r) => r.push_status === 'subscribed' && r.status === 'in_transit');

    fakeB.end('yuantong', nu);
    expect((await notifyAt(sysB, abortPush(nu, 'yuantong', '60天无变化'))).status).toBe(200);
    expect(await rowB(shipmentId)).toMatchObject({ push_status: 'ended', push_renewals: 0 });
    await halfAnHourLater(shipmentId);
    await polled(nu, 2);
    expect(fakeB.subscriptionsOf(nu)).toHaveLength(1);
    expect((await rowB(shipmentId)).push_status).toBe('ended');
  });
});
