import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { orderEventTypes } from '../support/db.js';
import { boxShop, paidOrder, type Client } from '../support/client.js';
import { startSystem, type TestSystem } from '../support/system.js';
import { startSink } from '../support/webhook-sink.js';
import { sleep } from '../support/processes.js';
import { createDatabase, type Database } from '../../src/db/database.js';

/**
 * A label the carrier has not scanned yet: SF answers its route query with no routes, poll after poll. Nothing
 * is new, so the shop hears nothing, and the estimate the shipment was created with stays: it is what the label
 * is held to, and once it has passed the parcel is reported late (once). The first scan is news.
 */

const NUMBER = 'SF1234567890';
let routes: object[] = [];
let queries = 0;
const sf = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    queries++;
    const data = JSON.stringify({ success: true, errorCode: 'S0000', msgData: { routeResps: [{ mailNo: NUMBER, routes }] } });
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ apiResultCode: 'A1000', apiErrorMsg: '', apiResultData: data }));
  });
});

let sys: TestSystem;
let shop: Client;
let db: Database;
let sink: Awaited<ReturnType<typeof startSink>>;

beforeAll(async () => {
  await new Promise<void>((r) => sf.listen(0, '127.0.0.1', r));
  sink = await startSink();
  sys = await startSystem({
    env: {
      TRACKING_REFRESH_EVERY_MS: '300',
      WEBHOOK_ALLOW_PRIVATE_NETWORKS: '1',
      SF_BASE_URL: `http://127.0.0.1:${(sf.address() as AddressInfo).port}`,
      SF_PARTNER_ID: 'PARTNER',
      SF_CHECK_WORD: 'CHECKWORD',
    },
  });
  shop = await boxShop(sys.base, 'Unscanned', sink.url);
  db = createDatabase(sys.config.databaseUrl, { poolMax: 2 });
});
afterAll(async () => {
  await db?.close();
  await sys?.close();
  sink?.close();
  sf.closeAllConnections();
  sf.close();
});

/** Waits for `n` more queries to reach SF: bounded by polls made, not by the clock. */
async function polls(n: number) {
  const target = queries + n;
  const t0 = Date.now();
  while (queries < target) {
    if (Date.now() - t0 > 30_000) throw new Error(`only ${queries} of ${target} SF queries`);
    await sleep(50);
  }
}

const shipmentOf = async (orderId: string) => (await shop('GET', `/v1/orders/${orderId}`)).json.shipments[0];
const eventsOf = (orderId: string) => orderEventTypes(db, orderId);
const hooksOf = (orderId: string) => sink.hits.map((h) => JSON.parse(h.body)).filter((b) => b.data.order.id === orderId).map((b) => b.type as string);

describe('a label not scanned yet', () => {
  it('keeps its creation estimate and sends nothing poll after poll; reported late once that estimate passes; its first scan is news', async () => {
    const orderId = await paidOrder(shop);
    const created = await shop('POST', `/v1/orders/${orderId}/shipments`, { carrier: 'sf', trackingNumber: NUMBER, fromCity: '深圳' });
    expect(created.status, created.text).toBe(201);
    const first = created.json.estimatedDeliveryAt as string;

    await polls(5);
    expect(await shipmentOf(orderId)).toMatchObject({ status: 'info_received', estimatedDeliveryAt: first, delayed: false, events: [] });
    expect(await eventsOf(orderId)).toEqual(['order.placed', 'order.paid', 'order.shipped']);

    // The label's estimate passes (as it would after SF's service level): the next tick reports it late, and the
    // polls after that neither move the estimate nor end the delay.
    await db.rows(`UPDATE shipments SET estimated_delivery_at = now() - interval '1 minute' WHERE id = $1`, [created.json.id]);
    let late = await shipmentOf(orderId);
    for (let tries = 0; !late.delayed && tries < 300; tries++) {
      await sleep(100);
      late = await shipmentOf(orderId);
    }
    expect(late.delayed).toBe(true);
    await polls(4);
    expect(await shipmentOf(orderId)).toMatchObject({ status: 'info_received', estimatedDeliveryAt: late.estimatedDeliveryAt, delayed: true, delayedSince: late.delayedSince });
    expect(await eventsOf(orderId)).toEqual(['order.placed', 'order.paid', 'order.shipped', 'shipment.delayed']);

    // SF picks it up: news, estimated from the pickup on (still ahead: the delay ends), and one shipment.updated.
    const pickedUp = new Date(Date.now() - 3_600_000);
    const china = new Date(pickedUp.getTime() + 8 * 3_600_000).toISOString().slice(0, 19).replace('T', ' ');
    routes = [{ acceptTime: china, acceptAddress: '深圳', remark: '顺丰速运 已收取快件', opCode: '50' }];
    await polls(3);
    const moving = await shipmentOf(orderId);
    expect(moving).toMatchObject({ status: 'in_transit', delayed: false, delayedSince: null, events: [expect.objectContaining({ status: 'in_transit' })] });
    // SF's service level (48 h) from the pickup.
    expect(Date.parse(moving.estimatedDeliveryAt)).toBe(pickedUp.getTime() - (pickedUp.getTime() % 1000) + 48 * 3_600_000);
    const types = await eventsOf(orderId);
    expect(types).toEqual(['order.placed', 'order.paid', 'order.shipped', 'shipment.delayed', 'shipment.updated']);
    // The shop heard exactly that.
    while (hooksOf(orderId).length < types.length) await sleep(100);
    await polls(2);
    expect(hooksOf(orderId)).toEqual(types);
  });
});
