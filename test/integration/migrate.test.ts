import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, type Database } from '../../src/db/database.js';
import { migrate } from '../../src/db/migrate.js';
import { migrations } from '../../src/db/migrations/index.js';
import { migrationsWithSandbox } from '../../src/sandbox/migrations/index.js';
import { createTestDatabase } from '../support/db.js';
import { createEventOutbox } from '../../src/db/event-outbox.js';
import { createShipmentRepository } from '../../src/db/shipment.repository.js';

/** The release step: each migration commits with its own record, on one connection, once however many run it. */
let t: Awaited<ReturnType<typeof createTestDatabase>>;
const extra = (name: string, up: string) => [...migrations, { name, up }];
const tables = async (db: Database) =>
  (await db.rows<{ t: string }>("SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE 'mig_%'")).map((r) => r.t).sort();
const recorded = async (db: Database) => (await db.rows<{ name: string }>('SELECT name FROM schema_migrations ORDER BY name')).map((r) => r.name);

beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(() => t?.drop());

describe('migrate', () => {
  it('has applied every migration once; a second run applies nothing', async () => {
    // Test databases carry the sandbox's set too (tests run with SANDBOX=1).
    expect(await recorded(t.db)).toEqual(migrationsWithSandbox.map((m) => m.name).sort());
    expect(await migrate(t.db)).toEqual([]);
    expect(await migrate(t.db, undefined, migrationsWithSandbox)).toEqual([]);
  });

  it('leaves neither the DDL nor the record of a migration that fails, and keeps those before it', async () => {
    const list = [...extra('900001-good', 'CREATE TABLE mig_good (id int)'), { name: '900002-bad', up: 'CREATE TABLE mig_bad (id int); SELECT no_such_function()' }];
    await expect(migrate(t.db, undefined, list)).rejects.toThrow(/no_such_function/);
    expect(await tables(t.db)).toEqual(['mig_good']);
    expect(await recorded(t.db)).toContain('900001-good');
    expect(await recorded(t.db)).not.toContain('900002-bad');
  });

  it('applies a new migration once when several processes release at the same time', async () => {
    const list = extra('900003-once', 'CREATE TABLE mig_once (id int); SELECT pg_sleep(0.2)');
    const dbs = Array.from({ length: 3 }, () => createDatabase(t.url, { poolMax: 2 }));
    try {
      const results = await Promise.all(dbs.map((db) => migrate(db, undefined, list)));
      expect(results.flat().filter((n) => n === '900003-once')).toHaveLength(1);
      expect(await tables(t.db)).toContain('mig_once');
    } finally {
      await Promise.all(dbs.map((db) => db.close()));
    }
  });
});

describe('000015-shop-keys on a database that holds data', () => {
  it('fills the children with their shop, keys every hot table by shop, and refuses a child under another shop', async () => {
    const t2 = await createTestDatabase({ sandbox: false });
    try {
      const db = t2.db;
      // Back to the schema before 000015, with rows in every hot table.
      await db.rows(`DROP SCHEMA public CASCADE; CREATE SCHEMA public`);
      const before = migrations.filter((m) => m.name < '000015');
      await migrate(db, undefined, before);
      const [shop, other] = ['11111111-1111-7111-8111-111111111111', '22222222-2222-7222-8222-222222222222'];
      const [order, refund, event, shipment, ret] = ['01900000-0000-7000-8000-000000000001', '01900000-0000-7000-8000-000000000002',
        '01900000-0000-7000-8000-000000000003', '01900000-0000-7000-8000-000000000004', '01900000-0000-7000-8000-000000000005'];
      await db.rows(`
        INSERT INTO shops (id, name, api_key_hash, webhook_url, webhook_secret) VALUES
          ('${shop}', 'A', 'ha', 'https://a.example', 's'), ('${other}', 'B', 'hb', NULL, 's');
        INSERT INTO products (id, shop_id, sku, name, price_minor, currency, stock) VALUES (1, '${shop}', 'TEA', 'Tea', 100, 'CNY', 5);
        INSERT INTO orders (id, shop_id, idempotency_key, request_hash, status, currency, customer, shipping_address, payment_method, payment_token, captured_minor)
          VALUES ('${order}', '${shop}', 'k', 'h', 'delivered', 'CNY', '{}', '{}', 'card', 't', 100);
        INSERT INTO order_items (order_id, line_no, sku, quantity, product_id, unit_price_minor, line_total_minor) VALUES ('${order}', 1, 'TEA', 1, 1, 100, 100);
        INSERT INTO refunds (id, order_id, shop_id, idempotency_key, request_hash, amount_minor, currency) VALUES ('${refund}', '${order}', '${shop}', 'r', 'h', 50, 'CNY');
        INSERT INTO order_events (id, order_id, shop_id, type) VALUES ('${event}', '${order}', '${shop}', 'order.paid');
        INSERT INTO webhook_deliveries (id, event_id, shop_id, url, attempt, duration_ms, outcome) VALUES ('${event}', '${event}', '${shop}', 'u', 1, 5, 'delivered');
        INSERT INTO webhook_leases (order_id, token, until) VALUES ('${order}', '${event}', now()), ('${other}', '${event}', now());
        INSERT INTO returns (id, order_id, shop_id, idempotency_key, request_hash, reason, amount_minor, currency, refund_id)
          VALUES ('${ret}', '${order}', '${shop}', 'x', 'h', 'why', 100, 'CNY', '${refund}');
        INSERT INTO return_items (return_id, sku, quantity, product_id, unit_price_minor) VALUES ('${ret}', 'TEA', 1, 1, 100);
        INSERT INTO shipments (id, order_id, shop_id, carrier, tracking_number, return_id) VALUES ('${shipment}', '${order}', '${shop}', 'sandbox', 'SBX-1', '${ret}');
        INSERT INTO shipment_events (shipment_id, at, status, description) VALUES ('${shipment}', now(), 'in_transit', 'moving');
        INSERT INTO payment_switches (shop_id, idempotency_key, order_id, request_hash, trade_no) VALUES ('${shop}', 'p', '${order}', 'h', 1)`);

      expect(await migrate(db, undefined, migrations.filter((m) => m.name < '000016'))).toEqual(['000015-shop-keys']);

      for (const table of ['order_items', 'return_items', 'shipment_events', 'webhook_leases']) {
        expect(await db.rows(`SELECT shop_id FROM ${table}`), table).toEqual([{ shop_id: shop }]); // the lease of no order is gone
      }
      const keys = await db.rows<{ t: string; def: string }>(
        `SELECT conrelid::regclass::text AS t, pg_get_constraintdef(oid) AS def FROM pg_constraint
          WHERE contype IN ('p', 'u') AND conrelid::regclass::text = ANY($1) ORDER BY 1, 2`,
        [['orders', 'order_items', 'products', 'refunds', 'order_events', 'webhook_deliveries', 'webhook_leases', 'shipments', 'shipment_events', 'returns', 'return_items', 'payment_switches']],
      );
      // Every primary key and unique constraint of a hot table leads with the shop.
      expect(keys.filter((k) => !/^(PRIMARY KEY|UNIQUE) \(shop_id,/.test(k.def))).toEqual([]);
      expect(keys.filter((k) => k.def.startsWith('PRIMARY KEY')).map((k) => k.t)).toHaveLength(12);
      // A child under another shop's parent is refused by the composite foreign keys.
      await expect(db.rows(`INSERT INTO order_items (shop_id, order_id, line_no, sku, quantity) VALUES ('${other}', '${order}', 2, 'TEA', 1)`)).rejects.toThrow(/foreign key/);
      await expect(db.rows(`INSERT INTO refunds (id, order_id, shop_id, idempotency_key, request_hash, amount_minor, currency)
        VALUES (gen_random_uuid(), '${order}', '${other}', 'r2', 'h', 1, 'CNY')`)).rejects.toThrow(/foreign key/);
      await expect(db.rows(`INSERT INTO order_items (shop_id, order_id, line_no, sku, quantity, product_id) VALUES ('${shop}', '${order}', 3, 'TEA', 1, 999)`)).rejects.toThrow(/foreign key/);
    } finally {
      await t2.drop();
    }
  });
});

describe('000016-push-renewal on a database that holds data', () => {
  it('keeps every push state, counts no renewal yet, and takes `lapsed` but no unknown state', async () => {
    const t2 = await createTestDatabase({ sandbox: false });
    try {
      const db = t2.db;
      await db.rows(`DROP SCHEMA public CASCADE; CREATE SCHEMA public`);
      await migrate(db, undefined, migrations.filter((m) => m.name < '000016'));
      const [shop, order] = ['11111111-1111-7111-8111-111111111111', '01900000-0000-7000-8000-000000000001'];
      await db.rows(`
        INSERT INTO shops (id, name, api_key_hash, webhook_url, webhook_secret) VALUES ('${shop}', 'A', 'ha', NULL, 's');
        INSERT INTO orders (id, shop_id, idempotency_key, request_hash, status, currency, customer, shipping_address, payment_method, payment_token, captured_minor)
          VALUES ('${order}', '${shop}', 'k', 'h', 'shipped', 'CNY', '{}', '{}', 'card', 't', 100);
        INSERT INTO shipments (id, order_id, shop_id, carrier, tracking_number, push_status) VALUES
          (gen_random_uuid(), '${order}', '${shop}', 'kuaidi100', 'YT1', 'subscribed'),
          (gen_random_uuid(), '${order}', '${shop}', 'kuaidi100', 'YT2', 'ended'),
          (gen_random_uuid(), '${order}', '${shop}', 'sf', 'SF1', NULL)`);

      expect(await migrate(db)).toEqual(migrations.filter((m) => m.name >= '000016').map((m) => m.name));
      expect(await db.rows('SELECT tracking_number, push_status, push_renewals, push_ended_at FROM shipments ORDER BY tracking_number')).toEqual([
        { tracking_number: 'SF1', push_status: null, push_renewals: 0, push_ended_at: null },
        { tracking_number: 'YT1', push_status: 'subscribed', push_renewals: 0, push_ended_at: null },
        { tracking_number: 'YT2', push_status: 'ended', push_renewals: 0, push_ended_at: null },
      ]);
      await db.rows(`UPDATE shipments SET push_status = 'lapsed', push_ended_at = now() WHERE tracking_number = 'YT1'`);
      await expect(db.rows(`UPDATE shipments SET push_status = 'paused' WHERE tracking_number = 'YT2'`)).rejects.toThrow(/shipments_push_status_check/);
    } finally {
      await t2.drop();
    }
  });
});

describe('000017-ended-tracking on a database that holds data', () => {
  it('keeps each shop\'s open count, then counts a parcel whose tracking ended as no longer open, and lets a return be cancelled', async () => {
    const t2 = await createTestDatabase({ sandbox: false });
    try {
      const db = t2.db;
      await db.rows(`DROP SCHEMA public CASCADE; CREATE SCHEMA public`);
      await migrate(db, undefined, migrations.filter((m) => m.name < '000017'));
      const shop = '11111111-1111-7111-8111-111111111111';
      const order = '01900000-0000-7000-8000-000000000001';
      const ret = '01900000-0000-7000-8000-000000000005';
      await db.rows(`
        INSERT INTO shops (id, name, api_key_hash, webhook_url, webhook_secret) VALUES ('${shop}', 'A', 'ha', NULL, 's');
        INSERT INTO orders (id, shop_id, idempotency_key, request_hash, status, currency, customer, shipping_address, payment_method, payment_token)
          VALUES ('${order}', '${shop}', 'k', 'h', 'shipped', 'CNY', '{}', '{}', 'card', 't');
        INSERT INTO returns (id, order_id, shop_id, idempotency_key, request_hash, reason, amount_minor, currency)
          VALUES ('${ret}', '${order}', '${shop}', 'x', 'h', 'why', 100, 'CNY');
        INSERT INTO shipments (id, order_id, shop_id, carrier, tracking_number, status, last_news_at, return_id) VALUES
          (gen_random_uuid(), '${order}', '${shop}', 'sandbox', 'SBX-1', 'exception', now() - interval '20 days', NULL),
          (gen_random_uuid(), '${order}', '${shop}', 'sandbox', 'SBX-2', 'in_transit', now(), NULL),
          (gen_random_uuid(), '${order}', '${shop}', 'sandbox', 'SBX-3', 'delivered', now(), NULL),
          (gen_random_uuid(), '${order}', '${shop}', 'sandbox', 'SBX-4', 'in_transit', now(), '${ret}')`);
      const open = async () => (await db.rows<{ n: number }>('SELECT open_shipments AS n FROM shops WHERE id = $1', [shop]))[0]!.n;
      expect(await open()).toBe(3);

      expect(await migrate(db, undefined, migrations.filter((m) => m.name < '000018'))).toEqual(['000017-ended-tracking']);
      // Nothing ended yet: the count stands; the rows are as they were.
      expect(await open()).toBe(3);
      expect(await db.rows('SELECT tracking_number FROM shipments WHERE tracking_ended_at IS NOT NULL')).toEqual([]);
      // Ending a parcel's tracking frees its place; news that revives it takes it again; ending a final one changes nothing.
      await db.rows(`UPDATE shipments SET tracking_ended_at = now(), tracking_end = 'given_up' WHERE tracking_number IN ('SBX-1', 'SBX-3')`);
      expect(await open()).toBe(2);
      await db.rows(`UPDATE shipments SET tracking_ended_at = NULL, tracking_end = NULL WHERE tracking_number = 'SBX-1'`);
      expect(await open()).toBe(3);
      await expect(db.rows(`UPDATE shipments SET tracking_end = 'lost' WHERE tracking_number = 'SBX-2'`)).rejects.toThrow(/check constraint/);
      await expect(db.rows(`UPDATE shipments SET tracking_end = 'given_up' WHERE tracking_number = 'SBX-2'`)).rejects.toThrow(/shipments_tracking_ended_check/);

      await expect(db.rows(`UPDATE returns SET status = 'cancelled' WHERE id = $1`, [ret])).rejects.toThrow(/returns_cancelled_check/);
      await db.rows(`UPDATE returns SET status = 'cancelled', cancelled_at = now() WHERE id = $1`, [ret]);
      await db.rows(`UPDATE shipments SET tracking_ended_at = now(), tracking_end = 'return_cancelled' WHERE return_id = $1`, [ret]);
      expect(await open()).toBe(2);
    } finally {
      await t2.drop();
    }
  });
});

describe('000018-newest-carrier-event on a database that holds data', () => {
  it('adds the column without touching a row (no lock held over the table), and a poll reads the parcel\'s newest stored event in its place', async () => {
    const t2 = await createTestDatabase({ sandbox: false });
    try {
      const db = t2.db;
      await db.rows(`DROP SCHEMA public CASCADE; CREATE SCHEMA public`);
      await migrate(db, undefined, migrations.filter((m) => m.name < '000018'));
      const shop = '11111111-1111-7111-8111-111111111111';
      const order = '01900000-0000-7000-8000-000000000001';
      const [moving, unscanned] = ['01900000-0000-7000-8000-000000000002', '01900000-0000-7000-8000-000000000003'];
      await db.rows(`
        INSERT INTO shops (id, name, api_key_hash, webhook_url, webhook_secret) VALUES ('${shop}', 'A', 'ha', NULL, 's');
        INSERT INTO orders (id, shop_id, idempotency_key, request_hash, status, currency, customer, shipping_address, payment_method, payment_token)
          VALUES ('${order}', '${shop}', 'k', 'h', 'shipped', 'CNY', '{}', '{}', 'card', 't');
        INSERT INTO shipments (id, order_id, shop_id, carrier, tracking_number) VALUES
          ('${moving}', '${order}', '${shop}', 'sandbox', 'SBX-1'), ('${unscanned}', '${order}', '${shop}', 'sandbox', 'SBX-2');
        INSERT INTO shipment_events (shop_id, shipment_id, at, status, description) VALUES
          ('${shop}', '${moving}', '2025-03-10T01:12:00Z', 'out_for_delivery', 'out'), ('${shop}', '${moving}', '2025-03-09T10:30:05Z', 'in_transit', 'moving')`);

      expect(await migrate(db)).toEqual(['000018-newest-carrier-event']);
      expect(await db.rows('SELECT id, newest_event_at FROM shipments ORDER BY id')).toEqual([
        { id: moving, newest_event_at: null },
        { id: unscanned, newest_event_at: null },
      ]);
      // An answer older than the parcel's history (its pickup scan alone, sent again) still moves nothing...
      const store = createShipmentRepository(db, createEventOutbox(db));
      const answer = (events: Array<[string, 'in_transit' | 'out_for_delivery' | 'delivered']>) => ({
        snapshot: { status: events.at(-1)![1], events: events.map(([at, status]) => ({ at: new Date(at), status, description: status, location: null })), estimatedDeliveryAt: null },
        pickedUpAt: null, estimate: null, deliveredAt: null, nextPollAt: new Date(),
      });
      expect(await store.applyPoll({ shopId: shop, id: moving }, answer([['2025-03-09T10:30:05Z', 'in_transit']]))).toEqual({ changed: false });
      // ...and a newer one moves it and stores its newest event.
      expect(await store.applyPoll({ shopId: shop, id: moving }, answer([['2025-03-09T10:30:05Z', 'in_transit'], ['2025-03-10T01:12:00Z', 'out_for_delivery'], ['2025-03-10T05:00:00Z', 'delivered']]))).toEqual({ changed: true });
      expect(await db.rows('SELECT status, newest_event_at FROM shipments WHERE id = $1', [moving])).toEqual([{ status: 'delivered', newest_event_at: new Date('2025-03-10T05:00:00Z') }]);
    } finally {
      await t2.drop();
    }
  });
});
