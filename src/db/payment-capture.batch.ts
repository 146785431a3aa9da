import { createBatcher } from '../batcher.js';
import { notFound, TransientError } from '../domain/errors.js';
import { isUuid } from '../domain/ids.js';
import { ORDER, PAYMENT, type OrderStatus, type PaymentStatus } from '../domain/order-lifecycle.js';
import type { Capture } from '../domain/payment-gateway.js';
import type { CaptureContext, SettleOutcome } from '../domain/payment-ports.js';
import type { Database, Transaction } from './database.js';
import type { EventOutbox } from './event-outbox.js';
import { shopsOf, type OrderRef } from '../domain/keys.js';

/**
 * Group commit for the capture path. The capture jobs a worker runs side by side share their statements: the
 * attempt counters of every job that starts while the previous round runs are one UPDATE, the orders that
 * notifications ask about are one read, and settles are one transaction in which each product's `reserved`
 * moves once for the whole batch, so a hot SKU's row is written once per batch instead of once per order.
 * At low load a batch is one item and waits for nothing.
 */

const CAPTURE_COLUMNS = `id, shop_id, status, payment_status, payment_method, payment_flow, payment_token, total_minor, currency,
  payment_attempts, placed_at, payment_checkout, payment_trade, payment_action, payment_trade_no`;
/**
 * The shop's own account at the order's provider (contract section 6, partner mode), as `shops.merchants`
 * holds it: `{ "wechat_pay": { "subMchid" }, "alipay": { "appAuthToken" }, "paypal": { "payeeMerchantId" }, "card": { "account" } }`.
 */
export const MERCHANT_OF_O = `(SELECT s.merchants -> o.payment_method ->> (CASE o.payment_method WHEN 'wechat_pay' THEN 'subMchid'
  WHEN 'alipay' THEN 'appAuthToken' WHEN 'paypal' THEN 'payeeMerchantId' ELSE 'account' END) FROM shops s WHERE s.id = o.shop_id) AS merchant`;
/** The same columns of `orders o`, for a statement that joins it. */
const CAPTURE_COLUMNS_OF_O = `${CAPTURE_COLUMNS.split(/,\s*/).map((c) => `o.${c}`).join(', ')}, ${MERCHANT_OF_O}`;
interface CaptureRow {
  id: string;
  shop_id: string;
  status: OrderStatus;
  payment_status: PaymentStatus;
  payment_method: CaptureContext['method'];
  payment_flow: CaptureContext['flow'];
  payment_token: string;
  total_minor: number;
  currency: string;
  payment_attempts: number;
  placed_at: Date | null;
  payment_checkout: { payer?: CaptureContext['payer']; returnUrl?: string } | null;
  payment_trade: string | null;
  payment_action: CaptureContext['action'];
  payment_trade_no: number;
  merchant: string | null;
}
const toCapture = (r: CaptureRow): CaptureContext => ({
  orderId: r.id,
  shopId: r.shop_id,
  status: r.status,
  paymentStatus: r.payment_status,
  method: r.payment_method,
  flow: r.payment_flow,
  token: r.payment_token,
  amountMinor: r.total_minor,
  currency: r.currency,
  attempts: r.payment_attempts,
  placedAt: r.placed_at,
  payer: r.payment_checkout?.payer ?? undefined,
  returnUrl: r.payment_checkout?.returnUrl ?? undefined,
  trade: r.payment_trade,
  action: r.payment_action,
  merchant: r.merchant,
  tradeNo: r.payment_trade_no,
});

/** An order as a settle finds it, locked. */
export interface LockedOrder {
  id: string;
  status: OrderStatus;
  payment_status: PaymentStatus;
  shop_id: string;
  currency: string;
  has_webhook: boolean;
}

/**
 * Every statement that touches several products locks them in id order first (as placement does): two
 * transactions sharing products then queue behind each other instead of deadlocking, which Postgres only
 * breaks after deadlock_timeout (a second of a hot SKU's throughput each time).
 */
export const LOCK_IN_ORDER = 'SELECT p.id FROM products p JOIN q ON p.shop_id = q.shop_id AND p.id = q.product_id ORDER BY p.id FOR NO KEY UPDATE OF p';

/**
 * The paid orders of a batch and their stock, in one statement: every order's `reserved` quantities summed
 * per product, so a product shared by the batch is updated once. The caller holds the orders' locks.
 * Its moves' `from` states are PAY_FROM.
 */
const PAY = `
  WITH c AS (SELECT * FROM unnest($1::uuid[], $2::text[], $3::bigint[], $6::uuid[]) AS c(id, provider_reference, amount_minor, shop_id)),
  paid AS (
    UPDATE orders o SET status = 'paid', payment_status = 'captured', provider_reference = c.provider_reference,
           captured_minor = c.amount_minor, stock_state = 'sold', payment_action = NULL, updated_at = now(),
           payment_events = CASE WHEN o.payment_flow IN ('barcode', 'token') THEN o.payment_events
             ELSE o.payment_events || jsonb_build_array(jsonb_build_object('at', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), 'type', 'captured',
               'detail', 'paid in full at the provider (' || c.provider_reference || ')')) END
      FROM c WHERE o.shop_id = c.shop_id AND o.id = c.id AND o.status = ANY($4::text[]) AND o.payment_status = ANY($5::text[])
    RETURNING o.shop_id, o.id),
  q AS (SELECT i.shop_id, i.product_id, sum(i.quantity)::int AS qty FROM order_items i JOIN paid ON i.shop_id = paid.shop_id AND i.order_id = paid.id
         GROUP BY i.shop_id, i.product_id),
  locked AS (${LOCK_IN_ORDER})
  UPDATE products p SET reserved = p.reserved - q.qty, updated_at = now()
    FROM q WHERE p.shop_id = q.shop_id AND p.id = q.product_id AND p.id IN (SELECT id FROM locked)`;

const PAY_FROM = [ORDER.fromStatesFor('paid'), PAYMENT.fromStatesFor('captured')];

/** A capture that arrived for an order that is no longer `placed`: the repository turns it into a refund. */
export type LateCapture = (tx: Transaction, order: LockedOrder, capture: Capture) => Promise<SettleOutcome>;

type Settled = { outcome: SettleOutcome } | { error: unknown };

const MAX_BATCH = 64;

/** Each order once per round, in the order given: a second item for the same order goes in a later round. */
function rounds<T extends OrderRef>(items: T[]): Array<Array<{ item: T; at: number }>> {
  const out: Array<Array<{ item: T; at: number }>> = [];
  const seen = new Map<string, number>();
  items.forEach((item, at) => {
    const round = seen.get(item.orderId) ?? 0;
    seen.set(item.orderId, round + 1);
    (out[round] ??= []).push({ item, at });
  });
  return out;
}

export function createCaptureBatches(db: Database, outbox: EventOutbox, lateCapture: LateCapture) {
  /** One UPDATE counts an attempt for every order of the round that still awaits capture. */
  const begin = createBatcher<OrderRef, CaptureContext | null>(
    async (orders) => {
      const results = orders.map((): CaptureContext | null => null);
      for (const round of rounds(orders)) {
        const valid = round.map((r) => r.item).filter((o) => isUuid(o.orderId) && isUuid(o.shopId));
        if (!valid.length) continue;
        // Rows locked in id order, as every statement locking several orders does (placement batches,
        // settles): an UPDATE over ANY(...) alone would lock them in whatever order the scan meets them.
        // Following a trade that waits for its buyer is not an attempt to charge: only `pending` counts.
        const rows = await db.rows<CaptureRow>(
          `WITH locked AS (
             SELECT shop_id, id FROM orders
              WHERE shop_id = ANY($4::uuid[]) AND id = ANY($1::uuid[]) AND status = ANY($2::text[]) AND payment_status = ANY($3::text[])
              ORDER BY id FOR UPDATE)
           UPDATE orders o SET payment_attempts = o.payment_attempts + CASE WHEN o.payment_status = 'pending' THEN 1 ELSE 0 END
             FROM locked WHERE o.shop_id = locked.shop_id AND o.id = locked.id
           RETURNING ${CAPTURE_COLUMNS_OF_O}`,
          [valid.map((o) => o.orderId), ORDER.statesNeeding('capture'), PAYMENT.statesNeeding('capture'), shopsOf(valid)],
        );
        const found = new Map(rows.map((row) => [row.id, toCapture(row)]));
        for (const r of round) results[r.at] = found.get(r.item.orderId) ?? null;
      }
      return results;
    },
    { maxBatch: MAX_BATCH },
  );

  /** The capture contexts that many notifications (or abandons) ask for at once: one read. */
  const contexts = createBatcher<OrderRef, CaptureContext | null>(
    async (orders) => {
      const ids = [...new Set(orders.map((o) => o.orderId))];
      const shops = shopsOf(orders);
      const rows = await db.rows<CaptureRow>(`SELECT ${CAPTURE_COLUMNS_OF_O} FROM orders o WHERE o.shop_id = ANY($2::uuid[]) AND o.id = ANY($1::uuid[])`, [ids, shops]);
      const found = new Map(rows.map((row) => [`${row.shop_id} ${row.id}`, toCapture(row)]));
      return orders.map((o) => found.get(`${o.shopId} ${o.orderId}`) ?? null);
    },
    { maxBatch: MAX_BATCH },
  );

  /**
   * The same read for what names the order alone (a provider's notification): by id, across shops, once; what
   * follows (the settle) finds the order by the shop this read returns.
   */
  const contextsById = createBatcher<string, CaptureContext | null>(
    async (orderIds) => {
      const rows = await db.rows<CaptureRow>(`SELECT ${CAPTURE_COLUMNS_OF_O} FROM orders o WHERE o.id = ANY($1::uuid[])`, [[...new Set(orderIds)]]);
      const found = new Map(rows.map((row) => [row.id, toCapture(row)]));
      return orderIds.map((id) => found.get(id) ?? null);
    },
    { maxBatch: MAX_BATCH },
  );

  /**
   * One transaction per round: the orders locked in id order, late captures turned into refunds, events
   * recorded, then the paid orders and their products in one statement, products last and in id order (as
   * placement, cancel and failPayment lock them): batches never deadlock with those or with each other, and a
   * hot SKU's row stays locked only for that statement and the commit.
   */
  const settleRound = (items: Array<OrderRef & { capture: Capture }>) =>
    db.transaction(async (tx) => {
      const orders = await db.rows<LockedOrder>(
        `SELECT o.id, o.status, o.payment_status, o.shop_id, o.currency,
                EXISTS (SELECT 1 FROM shops s WHERE s.id = o.shop_id AND s.webhook_url IS NOT NULL) AS has_webhook
           FROM orders o WHERE o.shop_id = ANY($2::uuid[]) AND o.id = ANY($1::uuid[]) ORDER BY o.id FOR UPDATE OF o`,
        [items.map((i) => i.orderId), shopsOf(items)],
        tx,
      );
      const capture = new Map(items.map((i) => [i.orderId, i.capture]));
      const outcomes = new Map<string, SettleOutcome>();
      const paid: LockedOrder[] = [];
      for (const o of orders) {
        if (!PAYMENT.canTransition(o.payment_status, 'captured')) outcomes.set(o.id, { outcome: 'already_settled' });
        else if (ORDER.canTransition(o.status, 'paid')) paid.push(o);
        // Money arrived for an order that no longer wants it (cancelled or given up meanwhile).
        else outcomes.set(o.id, await lateCapture(tx, o, capture.get(o.id)!));
      }
      // Only shops with a webhook URL have events stored: a batch without one pays no outbox statement (they are counted).
      const events = paid.map((o) => ({ orderId: o.id, shopId: o.shop_id, type: ORDER.eventFor(o.status, 'paid')!, hasWebhook: o.has_webhook }));
      if (events.length) await outbox.recordMany(tx, events);
      if (paid.length) {
        const caps = paid.map((o) => capture.get(o.id)!);
        await db.rows(PAY, [paid.map((o) => o.id), caps.map((c) => c.providerReference), caps.map((c) => c.amountMinor), ...PAY_FROM, paid.map((o) => o.shop_id)], tx);
      }
      for (const o of paid) outcomes.set(o.id, { outcome: 'paid' });
      return items.map((i): Settled => {
        const outcome = outcomes.get(i.orderId);
        return outcome ? { outcome } : { error: notFound('order') };
      });
    });

  const settle = createBatcher<OrderRef & { capture: Capture }, Settled>(
    async (items) => {
      // Every item gets its round's result; a placeholder error would build a stack trace per item for nothing.
      const results: Settled[] = new Array<Settled>(items.length);
      for (const round of rounds(items)) {
        const valid = round.filter((r) => isUuid(r.item.orderId) && isUuid(r.item.shopId));
        for (const r of round) if (!isUuid(r.item.orderId) || !isUuid(r.item.shopId)) results[r.at] = { error: notFound('order') };
        if (!valid.length) continue;
        const settled = await settleRound(valid.map((r) => r.item)).catch(async (error: unknown) => {
          if (valid.length === 1 || error instanceof TransientError) throw error;
          // A statement that fails for good fails because of one of the orders: settle each alone, so only it fails.
          const alone: Settled[] = [];
          for (const r of valid) alone.push(await settleRound([r.item]).then(([one]) => one!, (e: unknown) => ({ error: e })));
          return alone;
        });
        valid.forEach((r, k) => (results[r.at] = settled[k]!));
      }
      return results;
    },
    { maxBatch: MAX_BATCH },
  );

  // Ids as Postgres prints them, so that rows and requests match.
  const key = (o: OrderRef): OrderRef => ({ shopId: o.shopId.toLowerCase(), orderId: o.orderId.toLowerCase() });
  return {
    beginCapture: (order: OrderRef) => begin.submit(key(order)),
    captureContext: async (order: OrderRef) => (isUuid(order.orderId) && isUuid(order.shopId) ? contexts.submit(key(order)) : null),
    notifiedContext: async (orderId: string) => (isUuid(orderId) ? contextsById.submit(orderId.toLowerCase()) : null),
    async settleCapture(order: OrderRef, capture: Capture): Promise<SettleOutcome> {
      const settled = await settle.submit({ ...key(order), capture });
      if ('error' in settled) throw settled.error;
      return settled.outcome;
    },
  };
}
