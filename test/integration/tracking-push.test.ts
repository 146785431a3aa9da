import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client, orderBody, waitForStatus, type Client } from '../support/client.js';
import { ADMIN, startSystem, type TestSystem } from '../support/system.js';
import { startSink } from '../support/webhook-sink.js';
import { startKuaidi100Fake } from '../support/kuaidi100-fake.js';
import { sleep } from '../support/processes.js';
import { createDatabase, type Database } from '../../src/db/database.js';
import { kuaidi100PushSign } from '../../src/carriers/kuaidi100.push.js';

/** The push of the unit tests' fixture and its sign, computed with Python and md5sum (test/unit/kuaidi100-push.test.ts). */
const PARAM = readFileSync(new URL('../fixtures/carriers/kuaidi100-push-param.json', import.meta.url), 'utf8').replace(/\n$/, '');
const SALT = 's4ltS4ltS4lt';
const SIGN = '0D953BADAD9F1F9FAE2FFBDD4658AA8E';
const NUMBER = 'YT6186594166532';

let sys: TestSystem;
let db: Database;
let shop: Client;
let fake: Awaited<ReturnType<typeof startKuaidi100Fake>>;
let sink: Awaited<ReturnType<typeof startSink>>;

beforeAll(async () => {
  fake = await startKuaidi100Fake();
  fake.coms.set(NUMBER, 'yuantong');
  sink = await startSink();
  sys = await startSystem({
    env: {
      TRACKING_REFRESH_EVERY_MS: '300',
      WEBHOOK_ALLOW_PRIVATE_NETWORKS: '1',
      KUAIDI100_BASE_URL: fake.url,
      KUAIDI100_AUTONUMBER_BASE_URL: fake.url,
      KUAIDI100_CUSTOMER: 'CUST0001',
      KUAIDI100_KEY: 'kEyAbC123',
      KUAIDI100_PUSH_BASE_URL: 'https://orderworks.example/',
      KUAIDI100_PUSH_SALT: SALT,
    },
  });
  const r = await client(sys.base, { basic: ADMIN })('POST', '/v1/admin/shops', { name: 'Pushed', webhookUrl: sink.url });
  shop = client(sys.base, { bearer: r.json.apiKey });
  await shop('PUT', '/v1/products/BOX', { name: 'Box', priceMinor: 100, currency: 'CNY', stock: 10 });
  db = createDatabase(sys.config.databaseUrl, { poolMax: 2 });
});
afterAll(async () => {
  await db?.close();
  await sys?.close();
  sink?.close();
  fake?.close();
});

const notify = (body: string) =>
  fetch(`${sys.base}/v1/carriers/kuaidi100/notify`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
const signedForm = (param: string, sign = kuaidi100PushSign(param, SALT)) => new URLSearchParams({ param, sign }).toString();
const row = async (id: string) =>
  (
    await db.rows<{ status: string; push_status: string | null; carrier_com: string | null; next_poll_at: Date }>(
      'SELECT status, push_status, carrier_com, next_poll_at FROM shipments WHERE id = $1',
      [id],
    )
  )[0]!;
const events = async (orderId: string) =>
  (await db.rows<{ type: string }>('SELECT type FROM order_events WHERE order_id = $1 ORDER BY seq', [orderId])).map((e) => e.type);
const hooks = (orderId: string) =>
  sink.hits
    .map((h) => JSON.parse(h.body))
    .filter((b) => b.data.order.id === orderId)
    .map((b) => b.type as string);

async function until<T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, ms = 20_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    if (Date.now() - t0 > ms) throw new Error(`${what}: still ${JSON.stringify(v)}`);
    await sleep(100);
  }
}

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

  it('answers an oversized push 413 problem+json without reading it', async () => {
    const r = await notify(`param=${'x'.repeat(70_000)}&sign=${SIGN}`);
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
});
