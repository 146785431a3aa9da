import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEventOutbox } from '../../src/db/event-outbox.js';
import { createOrderRepository } from '../../src/db/order.repository.js';
import { createShipmentRepository } from '../../src/db/shipment.repository.js';
import type { TrackingSnapshot } from '../../src/domain/carrier.js';
import type { CarrierPush } from '../../src/domain/tracking-ports.js';
import { createTestDatabase, orderEventTypes } from '../support/db.js';
import { verifiedKuaidi100Push } from '../support/verified-push.js';
import { insertOrder, insertShop } from '../support/webhook-sink.js';

/**
 * The stale-answer rule where carriers' times are coarse or wrong: two scans in one minute are an older answer and
 * a newer one, and a history the carrier corrects (a full resend after an event dated in the future) must still
 * be able to deliver the parcel. Pushes applied as Kuaidi100's are, against a real database.
 */

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let orders: ReturnType<typeof createOrderRepository>;
let shipments: ReturnType<typeof createShipmentRepository>;

beforeAll(async () => {
  t = await createTestDatabase({ sandbox: false });
  const outbox = createEventOutbox(t.db);
  shipments = createShipmentRepository(t.db, outbox);
  orders = createOrderRepository(t.db, outbox);
});
afterAll(async () => t?.drop());

const push = (p: CarrierPush) => verifiedKuaidi100Push(shipments)(p);

async function shippedParcel(number: string) {
  const shop = await insertShop(t.db, 'https://hooks.example/x');
  const orderId = await insertOrder(t.db, shop.id);
  await t.db.rows(`UPDATE orders SET status = 'shipped' WHERE id = $1`, [orderId]);
  await t.db.rows(
    `INSERT INTO shipments (id, order_id, shop_id, carrier, tracking_number, status, next_poll_at, push_status)
     VALUES (gen_random_uuid(), $1, $2, 'kuaidi100', $3, 'info_received', now(), 'subscribed')`,
    [orderId, shop.id, number],
  );
  return { shopId: shop.id, orderId };
}

const MINUTE = 60_000;
/** A time `minutesAgo` before now, to the minute, as Kuaidi100 gives them. */
const at = (minutesAgo: number) => new Date(Math.floor((Date.now() - minutesAgo * MINUTE) / MINUTE) * MINUTE);
type Status = TrackingSnapshot['status'];
type Step = [Date, Status, string];
const answer = (steps: Step[]): CarrierPush['snapshot'] => ({
  status: steps.at(-1)![1], events: steps.map(([when, status, description]) => ({ at: when, status, description, location: null })), estimatedDeliveryAt: null,
});
const eventTypes = (orderId: string) => orderEventTypes(t.db, orderId);

describe('stale answers with coarse or wrong carrier times', () => {
  it('takes a second scan of the same minute as news, and that minute\'s older answer sent again as stale', async () => {
    const { shopId, orderId } = await shippedParcel('TIE-1');
    const pickedUp: Step = [at(180), 'in_transit', '揽收'];
    const arrived: Step = [at(30), 'in_transit', '到达派件网点'];
    const out: Step = [at(30), 'out_for_delivery', '派件中'];
    await push({ trackingNumber: 'TIE-1', snapshot: answer([pickedUp, arrived]), ended: false });
    await push({ trackingNumber: 'TIE-1', snapshot: answer([pickedUp, arrived, out]), ended: false });
    expect((await orders.get(shopId, orderId))!.shipments[0]!.status).toBe('out_for_delivery');
    // Kuaidi100 sends the older push again; then again with its pickup, or that minute's arrival, worded anew.
    await push({ trackingNumber: 'TIE-1', snapshot: answer([pickedUp, arrived]), ended: false });
    await push({ trackingNumber: 'TIE-1', snapshot: answer([[pickedUp[0], 'in_transit', '【杭州】揽收'], arrived]), ended: false });
    await push({ trackingNumber: 'TIE-1', snapshot: answer([pickedUp, [arrived[0], 'in_transit', '到达【浦东】派件网点']]), ended: false });
    expect((await orders.get(shopId, orderId))!.shipments[0]!.status).toBe('out_for_delivery');
    expect((await eventTypes(orderId)).filter((e) => e === 'shipment.updated')).toHaveLength(2);
  });

  it('lets a corrected history deliver a parcel whose carrier had dated an event in the future', async () => {
    const { shopId, orderId } = await shippedParcel('FIX-1');
    const pickedUp: Step = [at(600), 'in_transit', '揽收'];
    await push({ trackingNumber: 'FIX-1', snapshot: answer([pickedUp, [at(-24 * 60), 'in_transit', '到达 (dated a day ahead)']]), ended: false });
    // The full resend with the scan's true time, and the parcel signed for.
    await push({ trackingNumber: 'FIX-1', snapshot: answer([pickedUp, [at(120), 'in_transit', '到达'], [at(10), 'delivered', '签收']]), ended: false });
    const o = (await orders.get(shopId, orderId))!;
    expect([o.status, o.shipments[0]!.status]).toEqual(['delivered', 'delivered']);
    expect(await eventTypes(orderId)).toContain('order.delivered');
  });
});
