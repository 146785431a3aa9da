import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { orderPlacementJob } from '../../jobs/order-placement.job.js';
import { paymentRefundJob } from '../../jobs/payment-refund.job.js';
import { trackingPollJob } from '../../jobs/tracking-poll.job.js';
import { webhookDeliveryJob } from '../../jobs/webhook-delivery.job.js';
import type { JobDefinition } from '../../jobs/job-definition.js';
import { sequelizeOf } from '../../src/db/database.js';
import { enqueue } from '../../src/queue/enqueue.js';
import { client, orderBody, teaAndCupShop, waitForOrder, waitForStatus, type Client } from '../support/client.js';
import { ADMIN, startSystem, type TestSystem } from '../support/system.js';
import { startSink } from '../support/webhook-sink.js';

/**
 * Issue 15: every statement on a hot table finds its rows by shop, so that on a database distributed by shop
 * (Citus) each runs on one shard. A real pipeline runs in this process (orders placed, paid, declined, cancelled,
 * refunded, shipped and delivered, returned by parcel and by hand, paid through a wallet's notification, webhooks
 * delivered and redelivered, jobs queued before jobs carried their shop, operators' lookups) while every
 * statement web and worker send is recorded; then each distinct statement touching a hot table is checked.
 *
 * The check, per statement: every reference to a hot table (`FROM`, `JOIN`, `UPDATE`, `DELETE FROM`, by its alias
 * or its name) must be filtered on that reference's `shop_id` (`x.shop_id = ...`, `... = x.shop_id`,
 * `x.shop_id = ANY(...)`), and an INSERT must write `shop_id`. A join on `shop_id` to a row already found by
 * shop counts: parent and child are on the same shard. Statements that cross shops by nature are in ALLOWED,
 * each with its reason. The list is printed: it is the issue's "list of statements on the hot tables".
 */

/** The tables an order's pipeline writes, keyed by shop since migration 000015. */
const HOT_TABLES = [
  'orders', 'order_items', 'products', 'refunds', 'payment_switches', 'order_events', 'webhook_deliveries', 'webhook_leases',
  'shipments', 'shipment_events', 'returns', 'return_items',
] as const;

/** Statements allowed to look across shops: a distinctive part of each, and why. */
const ALLOWED: ReadonlyArray<{ match: RegExp; why: string }> = [
  { match: /FROM orders WHERE status = ANY\(\$5::text\[\]\) AND updated_at < \$1/, why: "the reconciler's sweep of every shop's open orders (each restart it makes carries the order's shop)" },
  { match: /FROM refunds WHERE status = ANY\(\$5::text\[\]\) AND updated_at < \$1/, why: "the reconciler's sweep of every shop's pending refunds (restarts carry the shop)" },
  { match: /FROM order_events WHERE state = 'pending' AND created_at < \$1/, why: "the reconciler's sweep of every shop's undelivered events (restarts carry the shop)" },
  { match: /WITH RECURSIVE shop AS/, why: "the tracking fan-out claims a carrier's due parcels round-robin across shops (the poll jobs it queues carry each parcel's shop)" },
  { match: /SELECT id, order_id, shop_id AS shopId FROM shipments WHERE delayed_since IS NULL/, why: "the delay sweep finds late parcels of every shop (what it then locks and flags is found by shop)" },
  { match: /extract\(epoch FROM delivered_at - picked_up_at\)/, why: "delivery estimates learn from every shop's delivered parcels of a carrier (a read, not a write)" },
  { match: /FROM shipments WHERE carrier = (ANY\(\$1::text\[\]\)|\$1) AND tracking_number = \$2/, why: "a carrier's push names only its waybill: its parcels are found once, then written by shop" },
  { match: /FROM shipments WHERE status = 'exception' AND tracking_ended_at IS NULL AND last_news_at <= \$1/, why: "the give-up sweep finds every shop's exceptions quiet for 14 days (what it then ends is found by shop)" },
  { match: /FROM orders o WHERE o\.id = ANY\(\$1::uuid\[\]\)$/, why: "a provider's notification names only the order: it is read once by id (its capture context, shop included), then settled by shop" },
  { match: /^SELECT shop_id FROM orders WHERE id = \$1$/, why: 'a job queued before jobs carried the shop (and an admin lookup): its shop is found once, then the order by shop' },
  { match: /^SELECT shop_id FROM refunds WHERE id = \$1$/, why: "a refund job queued before jobs carried the shop: its shop is found once" },
  { match: /^SELECT id, shop_id AS shopId FROM shipments WHERE id = ANY/, why: 'a poll job queued before jobs carried the shops: their shops are found once' },
  { match: /FROM orders AS OrderRecord/, why: "operators search and look up orders across shops (GET /v1/admin/orders); the order's details are then read by shop" },
  { match: /count\(\*\)::int AS n FROM (orders|shipments) WHERE/, why: "/metrics gauges count every shop's open orders and late parcels" },
];

/** A statement as recorded: quotes and literals' ids folded, whitespace collapsed. */
export const normalise = (sql: string) =>
  sql.replace(/"/g, '').replace(/'[0-9a-f]{8}-[0-9a-f-]{27}'/gi, "'<uuid>'").replace(/\s+/g, ' ').replace(/;$/, '').trim();

const TABLE_REF = new RegExp(String.raw`\b(FROM|JOIN|UPDATE|INTO)\s+(${HOT_TABLES.join('|')})\b(?:\s+(?:AS\s+)?(?!(?:WHERE|SET|ON|JOIN|LEFT|INNER|CROSS|GROUP|ORDER|LIMIT|USING|RETURNING|VALUES|SELECT|FOR|WITH|AND|OR|DO)\b)([A-Za-z_]\w*))?`, 'gi');
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The hot tables a statement reads or writes, and those of its references not filtered by shop. */
export function shopFilter(sql: string): { tables: string[]; unfiltered: string[] } {
  const tables = new Set<string>();
  const unfiltered = new Set<string>();
  for (const m of sql.matchAll(TABLE_REF)) {
    const [, verb, table, alias] = m as unknown as [string, string, string, string | undefined];
    tables.add(table);
    if (verb.toUpperCase() === 'INTO') {
      const columns = new RegExp(String.raw`INTO\s+${table}\s*\(([^)]*)\)`, 'i').exec(sql)?.[1] ?? '';
      if (!/\bshop_id\b/.test(columns)) unfiltered.add(`${table} (insert without shop_id)`);
      continue;
    }
    const name = esc(alias ?? table);
    const onShop = new RegExp(String.raw`(?<![\w.])${name}\.shop_id\s*=|=\s*${name}\.shop_id\b`, 'i');
    const bare = alias === undefined && /(?<![\w.])shop_id\s*=/i.test(sql);
    if (!onShop.test(sql) && !bare) unfiltered.add(alias ? `${table} ${alias}` : table);
  }
  return { tables: [...tables], unfiltered: [...unfiltered] };
}

let sys: TestSystem;
let shop: Client;
let shopId: string;
let sink: Awaited<ReturnType<typeof startSink>>;
const recorded = new Set<string>();
let recording = false;

beforeAll(async () => {
  sink = await startSink();
  sys = await startSystem({ env: { TRACKING_REFRESH_EVERY_MS: '300', WEBHOOK_ALLOW_PRIVATE_NETWORKS: '1' } });
  // Every statement either process sends, once the system is up (migrations are not the pipeline's).
  const record = (_options: unknown, query: object) => {
    const sql = (query as { sql?: string }).sql;
    if (recording && sql) recorded.add(normalise(sql));
  };
  for (const infra of [sys.web, sys.worker!]) sequelizeOf(infra.db).addHook('afterQuery', record);
  recording = true;
  const created = await teaAndCupShop(sys.base, 'Sharded', sink.url);
  shopId = created.id;
  shop = created.call;
});
afterAll(async () => {
  await sys?.close();
  sink?.close();
});

let keys = 0;
const key = () => ({ 'idempotency-key': `hot-${keys++}` });

async function order(payment: Record<string, unknown> = { method: 'card', token: 'tok_ok' }) {
  const r = await shop('POST', '/v1/orders', orderBody([{ sku: 'TEA', quantity: 2 }, { sku: 'CUP', quantity: 3 }], { payment }), key());
  expect(r.status, r.text).toBe(202);
  return r.json.id as string;
}

/** Queues a job as an older deploy did, and waits until its queue records it done. */
async function legacyJob<S extends z.ZodType>(def: JobDefinition<S>, data: z.input<S>) {
  const q = sys.web.shards.of(def, def.payload.parse(data));
  // The same job of this deploy is still in Redis (retention): an add would be a no-op.
  await (await q.getJob(def.jobId(def.payload.parse(data))))?.remove();
  const job = await enqueue(sys.web.shards, def, data, sys.config.retryBaseDelayMs);
  const id = job.id!;
  for (let i = 0; i < 400; i++) {
    const state = await q.getJobState(id);
    if (state === 'completed') return;
    if (state === 'failed') throw new Error(`job ${id} failed: ${(await q.getJob(id))?.failedReason}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`job ${id} not done`);
}

describe('hot statements filter by shop', () => {
  it('the checker itself: a statement without its shop filter is caught, one with it passes', () => {
    expect(shopFilter(normalise('UPDATE orders SET status = $2 WHERE id = $1')).unfiltered).toEqual(['orders']);
    expect(shopFilter(normalise('UPDATE orders SET status = $2 WHERE shop_id = $3 AND id = $1')).unfiltered).toEqual([]);
    expect(shopFilter('SELECT o.id FROM orders o JOIN order_items i ON i.order_id = o.id WHERE o.shop_id = $1').unfiltered).toEqual(['order_items i']);
    expect(shopFilter('INSERT INTO order_events (id, order_id, type) VALUES ($1, $2, $3)').unfiltered).toEqual(['order_events (insert without shop_id)']);
    expect(shopFilter('INSERT INTO order_events (id, order_id, shop_id, type) VALUES ($1, $2, $3, $4)').unfiltered).toEqual([]);
  });

  it('every statement of a whole pipeline on a hot table filters by shop, or is allowed with its reason', async () => {
    // Paid, shipped, delivered, refunded in part; two returns: one by its parcel, one received by the shop.
    const a = await order();
    await waitForStatus(shop, a, ['paid']);
    expect((await shop('POST', `/v1/orders/${a}/shipments`, { carrier: 'sandbox', trackingNumber: 'SBX-OUT-1', fromCity: 'Hangzhou' })).status).toBe(201);
    await waitForStatus(shop, a, ['delivered']);
    expect((await shop('POST', `/v1/orders/${a}/refunds`, { amountMinor: 100, reason: 'dented' }, key())).status).toBe(202);
    const byParcel = await shop('POST', `/v1/orders/${a}/returns`, { items: [{ sku: 'TEA', quantity: 1 }], reason: 'too strong', restock: true, carrier: 'sandbox', trackingNumber: 'SBX-BACK-1' }, key());
    expect(byParcel.status, byParcel.text).toBe(201);
    const byHand = await shop('POST', `/v1/orders/${a}/returns`, { items: [{ sku: 'CUP', quantity: 1 }], reason: 'chipped', restock: false }, key());
    expect((await shop('POST', `/v1/returns/${byHand.json.id}/receive`)).status).toBe(200);
    const done = await waitForOrder(shop, a, (o) => o.returns.every((r: any) => r.status === 'received' && r.refund?.status === 'succeeded'), 'returns received and refunded');
    expect(done.payment.refundedMinor).toBeGreaterThan(100);

    // Declined; cancelled once paid (its capture refunded); a wallet's QR, switched to another wallet by the buyer,
    // paid there and told by the provider's notification.
    const b = await order({ method: 'card', token: 'tok_decline' });
    const c = await order();
    await waitForStatus(shop, c, ['paid']);
    expect((await shop('POST', `/v1/orders/${c}/cancel`)).status).toBe(202);
    const d = await order({ method: 'alipay', flow: 'qr' });
    await waitForOrder(shop, d, (o) => o.payment.status === 'action_required', 'showing its QR');
    const switched = await shop('POST', `/v1/orders/${d}/payment`, { method: 'wechat_pay', flow: 'qr' }, key());
    expect(switched.status, switched.text).toBe(202);
    const withAction = await waitForOrder(shop, d, (o) => o.payment.method === 'wechat_pay' && o.payment.status === 'action_required', 'showing its new QR');
    const page = await fetch(withAction.payment.action.qrContent, { redirect: 'follow' });
    const checkout = /^(.*\/sandbox\/checkout\/[^/?#]+)/.exec(page.url)![1]!;
    expect((await fetch(`${checkout}/pay`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status).toBe(200);
    await waitForStatus(shop, b, ['payment_failed']);
    await waitForStatus(shop, d, ['paid']);
    await waitForOrder(shop, c, (o) => o.payment.status === 'refunded', 'refunded after its cancel');

    // Webhooks: delivered, listed, one redelivered.
    await waitForOrder(shop, a, () => sink.hits.some((h) => JSON.parse(h.body).type === 'order.delivered'), 'its delivery told to the shop');
    const log = await shop('GET', '/v1/webhook-deliveries?limit=5');
    expect(log.status).toBe(200);
    expect((await shop('POST', `/v1/webhook-deliveries/${log.json.data[0].id}/redeliver`)).status).toBe(202);

    // Jobs queued before jobs carried their shop: each finds it by its id, then works by shop.
    await legacyJob(orderPlacementJob, { orderId: a });
    await legacyJob(paymentRefundJob, { refundId: done.returns[0].refund.id });
    await legacyJob(trackingPollJob, { kind: 'poll', carrier: 'sandbox', shipmentIds: [done.shipments[0].id] });
    await legacyJob(webhookDeliveryJob, { kind: 'deliver', orderId: a, seq: 999_999 });

    // Operators: a search across shops, one order with its jobs.
    expect((await client(sys.base, { basic: ADMIN })('GET', `/v1/admin/orders?q=${a}`)).status).toBe(200);
    expect((await client(sys.base, { basic: ADMIN })('GET', `/v1/admin/orders/${a}`)).status).toBe(200);
    recording = false;

    const hot = [...recorded].map((sql) => ({ sql, ...shopFilter(sql) })).filter((s) => s.tables.length > 0).sort((x, y) => x.sql.localeCompare(y.sql));
    const verdict = hot.map((s) => {
      const allowed = s.unfiltered.length ? ALLOWED.find((a) => a.match.test(s.sql)) : undefined;
      return { ...s, allowed, ok: s.unfiltered.length === 0 || allowed !== undefined };
    });
    const lines = verdict.map((v) =>
      `${v.unfiltered.length === 0 ? 'by shop ' : v.allowed ? 'ALLOWED ' : 'MISSING '} [${v.tables.join(', ')}] ${v.sql.slice(0, 400)}` +
      (v.allowed ? `\n          why: ${v.allowed.why}` : v.unfiltered.length ? `\n          not filtered by shop: ${v.unfiltered.join('; ')}` : ''));
    console.log(`Statements on the hot tables (${verdict.length}; shop ${shopId}):\n${lines.join('\n')}`);
    // The pipeline really ran: its main statements were seen.
    expect(verdict.length).toBeGreaterThan(40);
    expect(verdict.filter((v) => !v.ok).map((v) => `${v.sql} -- not filtered by shop: ${v.unfiltered.join('; ')}`)).toEqual([]);
  });
});
