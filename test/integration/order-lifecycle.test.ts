import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sequelizeOf, type Database } from '../../src/db/database.js';
import { createEventOutbox } from '../../src/db/event-outbox.js';
import { createOrderRepository } from '../../src/db/order.repository.js';
import { createPaymentRepository } from '../../src/db/payment.repository.js';
import { createShipmentRepository } from '../../src/db/shipment.repository.js';
import { createReturnRepository } from '../../src/db/return.repository.js';
import { newOrderId } from '../../src/domain/ids.js';
import { ORDER, PAYMENT, REFUND, RETURN, SHIPMENT, STOCK, type Lifecycle, type ShipmentStatus } from '../../src/domain/order-lifecycle.js';
import type { OrderInput } from '../../src/domain/order-input.js';
import type { ShipmentUpdate } from '../../src/domain/tracking-ports.js';
import { createTestDatabase } from '../support/db.js';
import { insertShop } from '../support/webhook-sink.js';

/**
 * The schema and every status-writing statement of src/db against the lifecycle tables: the CHECK constraints
 * hold exactly the lifecycle's states; a trigger logs every status a row takes while scenarios drive each
 * repository operation, and every logged move must be one the tables allow; and every statement in src/db
 * that writes a status must have run in those scenarios, so a new one cannot slip past unchecked.
 */

const ROOT = path.resolve(import.meta.dirname, '../..');
/** Which lifecycle each status column follows. */
const COLUMNS: Record<string, Lifecycle<string>> = {
  'orders.status': ORDER,
  'orders.payment_status': PAYMENT,
  'orders.stock_state': STOCK,
  'shipments.status': SHIPMENT,
  'shipment_events.status': SHIPMENT,
  'refunds.status': REFUND,
  'returns.status': RETURN,
};
const TRACKED_TABLES = ['orders', 'shipments', 'refunds', 'returns'];

interface Move { tbl: string; col: string; old: string | null; new: string; query: string }

/** Moves the tables do not allow; an INSERT must start a row in its lifecycle's first state. */
function violations(moves: Move[]): Move[] {
  return moves.filter((m) => {
    const life = COLUMNS[`${m.tbl}.${m.col}`]!;
    return m.old === null ? m.new !== life.initial : !life.canTransition(m.old, m.new);
  });
}

const normalise = (sql: string) => sql.replace(/\s+/g, ' ').trim();

/** Every SQL literal in `source` that inserts into, or updates a status column of, orders, shipments or refunds. */
function statusWrites(source: string): string[] {
  const literals: string[] = [];
  const rest = source.replace(/`((?:[^`\\]|\\.)*)`/g, (_m, body: string) => (literals.push(body), ''));
  for (const m of rest.matchAll(/'((?:[^'\\\n]|\\.)*)'/g)) literals.push(m[1]!);
  const tables = TRACKED_TABLES.join('|');
  return literals.filter((sql) => {
    if (new RegExp(`INSERT\\s+INTO\\s+(${tables})\\b`, 'i').test(sql)) return true;
    for (const u of sql.matchAll(new RegExp(`UPDATE\\s+(${tables})\\b(?:\\s+\\w+)?\\s+SET\\s+([\\s\\S]*?)(?:\\bFROM\\b|\\bWHERE\\b|$)`, 'gi'))) {
      if (/(?:^|[\s,])(?:\w+\.)?(status|payment_status|stock_state)\s*=/i.test(u[2]!)) return true;
    }
    return false;
  });
}

/** Whether a statement (with `${...}` holes) is among the executed ones. */
const ran = (statement: string, executed: string[]) => {
  const parts = statement.split(/\$\{[^}]*\}/).map(normalise).filter(Boolean);
  return executed.some((sql) => parts.every((p) => sql.includes(p)));
};

const dbSources = () =>
  readdirSync(path.join(ROOT, 'src/db'))
    .filter((f) => f.endsWith('.ts'))
    .map((f) => ({ file: `src/db/${f}`, source: readFileSync(path.join(ROOT, 'src/db', f), 'utf8') }));

let testDb: Awaited<ReturnType<typeof createTestDatabase>>;
let db: Database;
const executed: string[] = [];

const TRIGGERS = `
CREATE TABLE lifecycle_log (n bigserial, tbl text, col text, old text, new text, query text);
CREATE FUNCTION log_lifecycle() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE c text; o text; v text;
BEGIN
  FOREACH c IN ARRAY TG_ARGV LOOP
    v := to_jsonb(NEW) ->> c;
    o := CASE WHEN TG_OP = 'UPDATE' THEN to_jsonb(OLD) ->> c END;
    IF TG_OP = 'INSERT' OR o IS DISTINCT FROM v THEN
      INSERT INTO lifecycle_log (tbl, col, old, new, query) VALUES (TG_TABLE_NAME, c, o, v, current_query());
    END IF;
  END LOOP;
  RETURN NULL;
END $$;
CREATE TRIGGER orders_lifecycle AFTER INSERT OR UPDATE ON orders FOR EACH ROW EXECUTE FUNCTION log_lifecycle('status', 'payment_status', 'stock_state');
CREATE TRIGGER shipments_lifecycle AFTER INSERT OR UPDATE ON shipments FOR EACH ROW EXECUTE FUNCTION log_lifecycle('status');
CREATE TRIGGER refunds_lifecycle AFTER INSERT OR UPDATE ON refunds FOR EACH ROW EXECUTE FUNCTION log_lifecycle('status');
CREATE TRIGGER returns_lifecycle AFTER INSERT OR UPDATE ON returns FOR EACH ROW EXECUTE FUNCTION log_lifecycle('status');
`;

const moves = () => db.rows<Move>('SELECT tbl, col, old, new, query FROM lifecycle_log ORDER BY n');

/** Drives every status-writing operation of the repositories through the database, as the services call them. */
async function scenarios(spy: Database) {
  const outbox = createEventOutbox(spy);
  const orders = createOrderRepository(spy, outbox);
  const payments = createPaymentRepository(spy, outbox);
  const shipments = createShipmentRepository(spy, outbox);
  const returns = createReturnRepository(spy, outbox);
  const shop = await insertShop(db, 'https://shop.example/hooks');
  await db.rows(`INSERT INTO products (shop_id, sku, name, price_minor, currency, stock) VALUES ($1, 'T', 'Tea', 500, 'CNY', 100), ($1, 'ONE', 'Last', 100, 'CNY', 1)`, [shop.id]);

  const input = (sku: string, quantity = 1): OrderInput => ({
    externalId: undefined, currency: 'CNY', items: [{ sku, quantity }],
    customer: { name: 'Li Lei', phone: '+8613800000000' },
    shippingAddress: { name: 'Li Lei', line1: '1 Nanjing Rd', city: 'Shanghai', postalCode: '200001', country: 'CN' },
    payment: { method: 'card', flow: 'token', token: 'tok_ok' },
  }) as OrderInput;
  const ref = (orderId: string) => ({ shopId: shop.id, orderId });
  const row = (id: string) => ({ shopId: shop.id, id });
  const receive = async (sku = 'T', quantity = 1) =>
    (await orders.createReceived({ id: newOrderId(), shopId: shop.id, idempotencyKey: randomUUID(), requestHash: 'h', input: input(sku, quantity) })).id;
  const place = async (sku = 'T', quantity = 1) => {
    const id = await receive(sku, quantity);
    await orders.place(ref(id), (await import('../../src/domain/pricing.js')).priceOrder);
    return id;
  };
  const capture = (id: string, amountMinor = 500) => payments.settleCapture(ref(id), { status: 'captured', providerReference: `pi_${id}`, amountMinor, currency: 'CNY' });
  const poll = (status: ShipmentStatus): ShipmentUpdate => ({
    snapshot: { status, events: [{ at: new Date(), status, description: status, location: null }], estimatedDeliveryAt: null },
    pickedUpAt: new Date(), estimate: { at: new Date(Date.now() + 86_400_000), source: 'carrier' },
    deliveredAt: status === 'delivered' ? new Date() : null, nextPollAt: new Date(),
  });

  // The whole road: placed, paid, shipped, parcel moving and delivered, refunded in two parts.
  const a = await place();
  await capture(a);
  const { shipment } = await shipments.create({ shopId: shop.id, orderId: a, carrier: 'sandbox', trackingNumber: 'SBX-1', estimate: { at: new Date(), source: 'service_level' }, limits: { perOrder: 20, openPerShop: 100 } });
  await shipments.applyPoll(row(shipment.id), poll('in_transit'));
  await shipments.applyPoll(row(shipment.id), poll('delivered'));
  for (const amountMinor of [200, 300]) {
    const { refund } = await payments.requestRefund({ shopId: shop.id, orderId: a, idempotencyKey: randomUUID(), requestHash: 'h', amountMinor });
    await payments.completeRefund(row(refund.id), { status: 'succeeded', providerRefundId: `re_${refund.id}` });
  }
  // Goods back: one return received by the shop (refund and restock), one by its parcel's delivery.
  const b = await place('T', 3);
  await capture(b, 1_500);
  await shipments.create({ shopId: shop.id, orderId: b, carrier: 'sandbox', trackingNumber: 'SBX-2', estimate: { at: new Date(), source: 'service_level' }, limits: { perOrder: 20, openPerShop: 1_000 } });
  const giveBack = (parcel?: string) => returns.request({
    shopId: shop.id, orderId: b, idempotencyKey: randomUUID(), requestHash: 'h', limits: { perOrder: 10, openParcelsPerShop: 1_000 },
    input: { items: [{ sku: 'T', quantity: 1 }], reason: 'broken', restock: true },
    parcel: parcel ? { carrier: 'sandbox', trackingNumber: parcel, estimate: { at: new Date(), source: 'service_level' } } : undefined,
  });
  await returns.receive(shop.id, (await giveBack()).ret.id);
  const { shipmentId } = await giveBack('SBX-BACK');
  await shipments.applyPoll(row(shipmentId!), poll('delivered'));
  // One cancelled while requested: its parcel's delivery afterwards receives nothing.
  const kept = await giveBack('SBX-BACK-2');
  await returns.cancel(shop.id, kept.ret.id, 'kept it');
  await shipments.applyPoll(row(kept.shipmentId!), poll('delivered'));
  // Rejected (unknown sku, out of stock), and cancelled while received.
  await place('NOPE');
  await place('ONE', 2);
  await payments.cancel(shop.id, await receive());
  // A payment that fails, then money that comes late: recorded, refunded in full, and that refund fails.
  const c = await place();
  await payments.failPayment(ref(c), 'payment_declined');
  const late = await capture(c);
  if (late.outcome === 'refunding') await payments.completeRefund(row(late.refundId), { status: 'failed', reason: 'declined' });
  // Cancelled while placed, then captured late; cancelled once paid (sold stock back, the capture refunded).
  const e = await place();
  await payments.cancel(shop.id, e);
  await capture(e);
  const f = await place();
  await capture(f);
  await payments.cancel(shop.id, f);
  // A wallet checkout: an attempt counted, the trade's action recorded, the buyer switches method, then the
  // money that arrives is the wrong amount (refused: not paid, refunded).
  const g = await place();
  await payments.beginCapture(ref(g));
  await payments.recordAction(ref(g), { status: 'action_required', action: { type: 'qr_code', qrContent: 'https://pay.example/qr' } }, new Date(Date.now() + 60_000), 0);
  await payments.switchMethod({ shopId: shop.id, orderId: g, idempotencyKey: randomUUID(), requestHash: 'h', fromTradeNo: 0, payment: { method: 'wechat_pay', flow: 'qr', token: '' } });
  await payments.refuseCapture(ref(g), { status: 'captured', providerReference: 'wx_1', amountMinor: 1, currency: 'CNY' }, 'payment_amount_mismatch', 'the wrong amount');
}

beforeAll(async () => {
  testDb = await createTestDatabase();
  db = testDb.db;
  await sequelizeOf(db).query(TRIGGERS);
  const spy: Database = { ...db, rows: (sql, bind, tx) => (executed.push(normalise(sql)), db.rows(sql, bind, tx)) };
  await scenarios(spy);
});
afterAll(async () => {
  await testDb?.drop();
});

describe('the schema holds the lifecycle', () => {
  it('each status column has a CHECK listing exactly its lifecycle states', async () => {
    const rows = await db.rows<{ tbl: string; def: string }>(
      `SELECT conrelid::regclass::text AS tbl, pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE contype = 'c'`,
    );
    for (const [column, life] of Object.entries(COLUMNS)) {
      const [tbl, col] = column.split('.');
      const checks = rows.filter((r) => r.tbl === tbl && new RegExp(`\\(+${col} = ANY`).test(r.def));
      expect(checks, column).toHaveLength(1);
      const values = [...checks[0]!.def.matchAll(/'([^']*)'::text/g)].map((m) => m[1]);
      expect(values.sort(), column).toEqual([...life.states].sort());
    }
  });

  it('refuses a status the lifecycle does not know', async () => {
    await expect(db.rows(`UPDATE orders SET status = 'lost' WHERE false OR true`)).rejects.toThrow(/orders_status_check/);
  });
});

describe('every status-writing statement against the lifecycle tables', () => {
  it('every move the repositories made is one the tables allow', async () => {
    const all = await moves();
    // The scenarios reached every kind of move they are meant to, so the check below is not vacuous.
    const seen = new Set(all.map((m) => `${m.tbl}.${m.col}:${m.old}>${m.new}`));
    for (const m of ['received>placed', 'received>rejected', 'received>cancelled', 'placed>paid', 'placed>payment_failed', 'placed>cancelled',
      'paid>shipped', 'shipped>delivered', 'delivered>refunded', 'paid>cancelled']) expect(seen, m).toContain(`orders.status:${m}`);
    for (const m of ['pending>captured', 'failed>captured', 'captured>partially_refunded', 'partially_refunded>refunded']) expect(seen, m).toContain(`orders.payment_status:${m}`);
    for (const m of ['none>reserved', 'reserved>sold', 'reserved>released', 'sold>released']) expect(seen, m).toContain(`orders.stock_state:${m}`);
    expect(seen).toContain('refunds.status:pending>failed');
    expect(seen).toContain('shipments.status:in_transit>delivered');
    expect(seen).toContain('returns.status:requested>received');
    expect(seen).toContain('returns.status:requested>cancelled');
    expect(seen).not.toContain('returns.status:cancelled>received');
    expect(violations(all).map((m) => `${m.tbl}.${m.col} ${m.old} -> ${m.new} by ${normalise(m.query)}`)).toEqual([]);
  });

  it('every statement in src/db that writes a status ran in the scenarios above', () => {
    const writes = dbSources().flatMap(({ file, source }) => statusWrites(source).map((sql) => ({ file, sql })));
    expect(writes.length).toBeGreaterThanOrEqual(12);
    const missed = writes.filter((w) => !ran(w.sql, executed)).map((w) => `${w.file}: ${normalise(w.sql).slice(0, 160)}`);
    expect(missed, 'add a scenario that runs each of these, so its moves are checked').toEqual([]);
  });

  it('would catch a move the table does not list, and a status write no scenario runs', async () => {
    const [o] = await db.rows<{ id: string }>(`SELECT id FROM orders WHERE status = 'payment_failed' LIMIT 1`);
    const before = (await moves()).length;
    await db.rows(`UPDATE orders SET status = 'paid' WHERE id = $1`, [o!.id]);
    const rogue = (await moves()).slice(before);
    expect(violations(rogue).map((m) => `${m.old}>${m.new}`)).toEqual(['payment_failed>paid']);
    const unseen = statusWrites("const SQL = `UPDATE orders o SET stock_state = 'none' WHERE id = $1`;");
    expect(unseen).toHaveLength(1);
    expect(ran(unseen[0]!, executed)).toBe(false);
  });
});
