import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createShop, orderBody, paidOrder, waitForStatus, type Client } from '../support/client.js';
import { startSystem, type TestSystem } from '../support/system.js';
import { createDatabase, type Database } from '../../src/db/database.js';
import { DELIVERED_ON_ROUTE } from '../../src/db/shipment.repository.js';
import { citySpellings } from '../../src/domain/delivery-estimate.js';

/**
 * Estimates learned from history: a route's own deliveries count, however many more recent ones the carrier has
 * made on other routes, and they are found through the per-route index, a sample at a time.
 */

const H = 3_600_000;
let sys: TestSystem;
let shop: Client;
let shopId: string;
let db: Database;

beforeAll(async () => {
  sys = await startSystem({ env: { TRACKING_REFRESH_EVERY_MS: '300' } });
  const created = await createShop(sys.base, 'History');
  shop = created.call;
  shopId = created.id;
  await shop('PUT', '/v1/products/BOX', { name: 'Box', priceMinor: 100, currency: 'CNY', stock: 100 });
  db = createDatabase(sys.config.databaseUrl, { poolMax: 2 });
});
afterAll(async () => {
  await db?.close();
  await sys?.close();
});

describe('estimates from a route’s delivered parcels', () => {
  it('learn from the route even when the carrier has many more recent deliveries elsewhere, through the route index', async () => {
    const past = await paidOrder(shop);
    // Five deliveries Hangzhou -> Shanghai ten days ago, spelt as shops and carriers spell them (median 24 h; the
    // sixth, to 上海, is not a spelling of the same name) ...
    await db.rows(
      `INSERT INTO shipments (id, order_id, shop_id, carrier, tracking_number, status, from_city, to_city, picked_up_at, delivered_at)
       SELECT gen_random_uuid(), $1, $2, 'sandbox', 'SBX-ROUTE-' || i, 'delivered', f, t,
              now() - interval '10 days' - h * interval '1 hour', now() - interval '10 days'
         FROM unnest(ARRAY['Hangzhou', 'hangzhou', 'HANGZHOU市', 'Hangzhou市', 'hangzhou', 'Hangzhou'],
                     ARRAY['Shanghai', 'shanghai市', 'SHANGHAI', 'Shanghai', 'shanghai', '上海'],
                     ARRAY[20, 22, 24, 26, 28, 1]) WITH ORDINALITY AS r(f, t, h, i)`,
      [past, shopId],
    );
    // ... and twenty thousand since, fast, on other routes (from Hangzhou, to Shanghai, or neither).
    await db.rows(
      `INSERT INTO shipments (id, order_id, shop_id, carrier, tracking_number, status, from_city, to_city, picked_up_at, delivered_at)
       SELECT gen_random_uuid(), $1, $2, 'sandbox', 'SBX-ELSEWHERE-' || g, 'delivered',
              CASE g % 3 WHEN 0 THEN 'Hangzhou' ELSE 'Town' || (g % 100) END, CASE g % 3 WHEN 1 THEN 'Shanghai' ELSE 'Beijing' END,
              now() - interval '1 day' - g * interval '1 second' - interval '2 hours', now() - interval '1 day' - g * interval '1 second'
         FROM generate_series(1, 20000) g`,
      [past, shopId],
    );
    await db.rows('ANALYZE shipments');

    const plan = JSON.stringify(await db.rows(`EXPLAIN (FORMAT JSON) ${DELIVERED_ON_ROUTE}`, ['sandbox', citySpellings('Hangzhou'), citySpellings('Shanghai'), 200]));
    expect(plan).toContain('"Index Name":"shipments_delivered_route"');
    expect(plan).not.toContain('Seq Scan');

    const r = await shop('POST', '/v1/orders', orderBody([{ sku: 'BOX', quantity: 1 }]), { 'idempotency-key': 'route-1' });
    const id = (await waitForStatus(shop, r.json.id, ['paid'])).id;
    expect((await shop('POST', `/v1/orders/${id}/shipments`, { carrier: 'sandbox', trackingNumber: 'SBX-ROUTE-NEW', fromCity: 'hangzhou市' })).status).toBe(201);
    const [s] = (await waitForStatus(shop, id, ['delivered'])).shipments;
    // The route's median from the pickup, not the sandbox's service level (1 h), nor the other routes' 2 h.
    expect(Date.parse(s.estimatedDeliveryAt) - Date.parse(s.events[0].at)).toBe(24 * H);
  });
});
