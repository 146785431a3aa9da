import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { orderEventTypes } from '../support/db.js';
import { paidOrder, type Client } from '../support/client.js';
import type { TestSystem } from '../support/system.js';
import { startPushedSystem, until, type PushedSystem } from '../support/pushed-system.js';
import { sleep } from '../support/processes.js';
import type { Database } from '../../src/db/database.js';
import { kuaidi100PushSign } from '../../src/carriers/kuaidi100.push.js';

/**
 * Carrier news arrives out of order: Kuaidi100 sends a push again (an older one after a newer), and a poll's
 * answer may be stored after a push that is newer than it. What the carrier said last, by the time of its
 * events, is what the parcel shows: an older word moves nothing back, sends nothing, and ends no delay.
 */

const SALT = 's4ltS4ltS4lt';
const NUMBER = 'YT7000000000001';

let sys: TestSystem;
let db: Database;
let shop: Client;
let sink: PushedSystem['sink'];
let pushed: PushedSystem | undefined;

beforeAll(async () => {
  pushed = await startPushedSystem('Stale', SALT, NUMBER);
  ({ sys, db, shop, sink } = pushed);
});
afterAll(async () => pushed?.close());

/** Kuaidi100's times are Beijing time, without a zone; each event has one time, however often it is sent. */
const T0 = Date.now();
const chinaTime = (minutesAgo: number) => new Date(T0 - minutesAgo * 60_000 + 8 * 3_600_000).toISOString().slice(0, 19).replace('T', ' ');

type Step = [minutesAgo: number, name: string, context: string];
const PICKED_UP: Step = [180, '揽收', '【杭州市】快件已由【杭州西湖】揽收'];
const OUT: Step = [120, '派件', '【上海市】快件已到达【浦东新区】，快递员正在派件'];
const TROUBLE: Step = [60, '疑难', '【上海市】收件人地址不详，联系中'];
const MOVING: Step = [40, '在途', '【上海市】地址已确认，快件转往【静安】'];
const SIGNED: Step = [10, '签收', '【上海市】已签收，签收人：本人'];

/** A signed push of the waybill in `state` with these events (Kuaidi100 sends the newest first). */
function push(state: string, steps: Step[]) {
  const data = [...steps].reverse().map(([ago, status, context]) => ({ context, time: chinaTime(ago), ftime: chinaTime(ago), status, areaName: '上海,上海市' }));
  const param = JSON.stringify({ status: 'polling', billstatus: 'got', message: '', lastResult: { message: 'ok', state, status: '200', ischeck: '0', com: 'yuantong', nu: NUMBER, data } });
  return new URLSearchParams({ param, sign: kuaidi100PushSign(param, SALT) }).toString();
}

async function notify(body: string) {
  const r = await fetch(`${sys.base}/v1/carriers/kuaidi100/notify`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
  expect([r.status, await r.text()]).toEqual([200, '{"result":true,"returnCode":"200","message":"成功"}']);
}

const eventsOf = (orderId: string) => orderEventTypes(db, orderId);
const count = (types: string[], type: string) => types.filter((t) => t === type).length;
const shipmentOf = async (orderId: string) => (await shop('GET', `/v1/orders/${orderId}`)).json.shipments[0];

/** Waits until the scheduler has run `n` more fan-outs (each flags late parcels): bounded by ticks, not by the clock. */
async function ticks(n: number) {
  const queue = sys.web.queues['tracking-poll'];
  const done = async () => (await queue.getJobs(['completed'], 0, 10_000)).filter((j) => (j.data as { kind?: string }).kind === 'fan-out').length;
  const target = (await done()) + n;
  while ((await done()) < target) await sleep(100);
}

describe('news out of order', () => {
  it('ignores an older push after a newer one: no move back, no shipment.updated, the delay kept; newer news still moves it, back to in_transit included', async () => {
    const orderId = await paidOrder(shop);
    const created = await shop('POST', `/v1/orders/${orderId}/shipments`, { carrier: 'kuaidi100', trackingNumber: NUMBER, fromCity: '杭州' });
    expect(created.status, created.text).toBe(201);
    const id = created.json.id as string;
    await until('subscription', async () => (await db.rows<{ push_status: string | null }>('SELECT push_status FROM shipments WHERE id = $1', [id]))[0]!.push_status, (p) => p === 'subscribed');

    await notify(push('5', [PICKED_UP, OUT]));
    expect(await shipmentOf(orderId)).toMatchObject({ status: 'out_for_delivery', delayed: false });
    expect(count(await eventsOf(orderId), 'shipment.updated')).toBe(1);

    // Time passes without news (TRACKING_STALE_AFTER_MS): the next tick reports the parcel late.
    await db.rows(`UPDATE shipments SET last_news_at = now() - interval '50 hours' WHERE id = $1`, [id]);
    const late = await until('the delay', () => shipmentOf(orderId), (s) => s.delayed);
    const [{ last_news_at: newsAt }] = (await db.rows<{ last_news_at: Date }>('SELECT last_news_at FROM shipments WHERE id = $1', [id])) as [{ last_news_at: Date }];

    // Kuaidi100 sends the pickup push again, after the newer one: accepted (else it keeps sending it), and nothing moves.
    await notify(push('1', [PICKED_UP]));
    expect(await shipmentOf(orderId)).toMatchObject({ status: 'out_for_delivery', delayed: true, delayedSince: late.delayedSince, estimatedDeliveryAt: late.estimatedDeliveryAt });
    expect((await shipmentOf(orderId)).events.map((e: { status: string }) => e.status)).toEqual(['info_received', 'out_for_delivery']);
    // ...and the newer push once more is a replay.
    await notify(push('5', [PICKED_UP, OUT]));
    await ticks(2);
    expect(await shipmentOf(orderId)).toMatchObject({ status: 'out_for_delivery', delayed: true, delayedSince: late.delayedSince });
    expect((await db.rows<{ last_news_at: Date }>('SELECT last_news_at FROM shipments WHERE id = $1', [id]))[0]!.last_news_at).toEqual(newsAt);
    let types = await eventsOf(orderId);
    expect([count(types, 'shipment.updated'), count(types, 'shipment.delayed')]).toEqual([1, 1]);

    // Newer news moves it wherever the carrier says, back from an exception included; stale ones in between do not.
    await notify(push('2', [PICKED_UP, OUT, TROUBLE]));
    expect((await shipmentOf(orderId)).status).toBe('exception');
    await notify(push('0', [PICKED_UP, OUT, TROUBLE, MOVING]));
    expect((await shipmentOf(orderId)).status).toBe('in_transit');
    await notify(push('2', [PICKED_UP, OUT, TROUBLE]));
    await notify(push('5', [PICKED_UP, OUT]));
    expect((await shipmentOf(orderId)).status).toBe('in_transit');
    await notify(push('3', [PICKED_UP, OUT, TROUBLE, MOVING, SIGNED]));
    const done = await shop('GET', `/v1/orders/${orderId}`);
    expect(done.json.status).toBe('delivered');
    expect(done.json.shipments[0].events.map((e: { status: string }) => e.status)).toEqual(['info_received', 'out_for_delivery', 'exception', 'in_transit', 'delivered']);
    types = await eventsOf(orderId);
    expect(types.filter((t) => t.startsWith('shipment.') || t === 'order.delivered')).toEqual([
      'shipment.updated', 'shipment.delayed', 'shipment.updated', 'shipment.updated', 'shipment.updated', 'order.delivered',
    ]);
    // The shop heard exactly that.
    const hooks = async () => sink.hits.map((h) => JSON.parse(h.body)).filter((b) => b.data.order.id === orderId).map((b) => b.type as string);
    await until('the webhooks', hooks, (h) => h.length >= types.length);
    expect(await hooks()).toEqual(types);
  });
});
