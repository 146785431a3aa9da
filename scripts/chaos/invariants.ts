import type pg from 'pg';
import type { WebhookSink } from './sink.js';
import type { Tracked } from './shop.js';

/** The promises of docs/api.md checked against Postgres, the sandbox ledger and what the shop received. */

export const FINAL = ['delivered', 'rejected', 'payment_failed', 'cancelled', 'refunded'];

export interface Check {
  name: string;
  pass: boolean;
  detail: string;
  /** Evidence: offending order ids and rows, a few. */
  evidence: string[];
}

const check = (name: string, bad: unknown[], detail: string, evidence: string[] = []): Check => ({
  name, pass: bad.length === 0, detail, evidence: evidence.length ? evidence : bad.slice(0, 10).map((b) => JSON.stringify(b)),
});

/** One trade of the provider's ledger (GET /sandbox/charges). */
export interface WalletCharge {
  tradeRef: string;
  status: string;
  amountMinor: number;
  requestedMinor: number;
  refundedMinor: number;
  paidAt: string | null;
}

/** A wallet QR order, what its buyer did, and the provider's ledger of it read at the end. */
export interface WalletOrder {
  id: string;
  n: number;
  wrongAmount: boolean;
  buyer: 'waiting' | 'paid' | 'gone';
  attempts: number;
  charges: WalletCharge[] | undefined;
}

export interface InvariantInput {
  pool: pg.Pool;
  accepted: Tracked[];
  shopIds: string[];
  webhookShopIds: string[];
  initialStock: Map<string, number>; // `${shopId}/${sku}`
  sink: WebhookSink;
  stuckAfterSeconds: number;
  wallets: WalletOrder[];
}

export async function checkInvariants(x: InvariantInput): Promise<Check[]> {
  const q = async <T>(sql: string, bind: unknown[] = []) => (await x.pool.query(sql, bind)).rows as T[];
  const out: Check[] = [];

  // 1. Every order answered 202 exists exactly once, under the id the 202 gave.
  const rows = await q<{ id: string; shop_id: string; idempotency_key: string; status: string }>(
    'SELECT id, shop_id, idempotency_key, status FROM orders WHERE shop_id = ANY($1)', [x.shopIds]);
  const byKey = new Map<string, typeof rows>();
  for (const r of rows) byKey.set(`${r.shop_id}/${r.idempotency_key}`, [...(byKey.get(`${r.shop_id}/${r.idempotency_key}`) ?? []), r]);
  const lost = x.accepted.filter((t) => (byKey.get(`${t.shop.id}/${t.key}`) ?? []).length === 0);
  const dup = x.accepted.filter((t) => (byKey.get(`${t.shop.id}/${t.key}`) ?? []).length > 1);
  const wrongId = x.accepted.filter((t) => byKey.get(`${t.shop.id}/${t.key}`)?.[0]?.id !== t.id && !lost.includes(t));
  out.push(check('accepted orders exist exactly once', [...lost, ...dup, ...wrongId].map((t) => ({ key: t.key, id: t.id })),
    `${x.accepted.length} answered 202, ${rows.length} in Postgres; lost ${lost.length}, duplicated ${dup.length}, other id ${wrongId.length}`));

  // 2. Every order ended; none stuck.
  const open = await q<{ id: string; status: string; payment_status: string; age: number }>(
    `SELECT id, status, payment_status, extract(epoch FROM now() - updated_at)::int AS age FROM orders
      WHERE shop_id = ANY($1) AND status <> ALL($2) ORDER BY updated_at`, [x.shopIds, FINAL]);
  const byStatus = await q<{ status: string; n: number }>('SELECT status, count(*)::int AS n FROM orders WHERE shop_id = ANY($1) GROUP BY 1 ORDER BY 2 DESC', [x.shopIds]);
  out.push(check('every order in a final state', open, `${byStatus.map((s) => `${s.status} ${s.n}`).join(', ')}`));
  const stuck = open.filter((o) => o.age > x.stuckAfterSeconds);
  out.push(check(`no order stuck (non-final, untouched > ${x.stuckAfterSeconds}s)`, stuck, `${stuck.length} stuck`));

  // 3. Stock adds up per SKU: initial = stock + reserved + sold; reserved = held by live reservations.
  const skus = await q<{ shop_id: string; sku: string; stock: number; reserved: number; sold: number; held: number }>(
    `SELECT p.shop_id, p.sku, p.stock, p.reserved,
            coalesce(sum(i.quantity) FILTER (WHERE o.stock_state = 'sold'), 0)::int AS sold,
            coalesce(sum(i.quantity) FILTER (WHERE o.stock_state = 'reserved'), 0)::int AS held
       FROM products p LEFT JOIN order_items i ON i.product_id = p.id LEFT JOIN orders o ON o.id = i.order_id
      WHERE p.shop_id = ANY($1) GROUP BY p.shop_id, p.id ORDER BY p.shop_id, p.sku`, [x.shopIds]);
  const badStock = skus.filter((s) => {
    const initial = x.initialStock.get(`${s.shop_id}/${s.sku}`);
    return s.stock < 0 || s.reserved < 0 || s.reserved !== s.held || initial !== s.stock + s.reserved + s.sold;
  });
  out.push(check('stock in = stock + reserved + sold, never negative', badStock,
    skus.map((s) => `${s.sku} ${x.initialStock.get(`${s.shop_id}/${s.sku}`)}=${s.stock}+${s.reserved}+${s.sold}`).slice(0, 6).join('; ')));

  // 4. The provider's ledger: one charge per paid order, none for failed ones; a cancelled one fully refunded.
  // A charge is a trade the buyer paid (open or closed unpaid trades move no money); its merchant reference is
  // the order id or its 32 hex digits.
  const ledger = await q<{ id: string; status: string; total_minor: number; captured_minor: number; charges: number; amount: number; refunded: number }>(
    `SELECT o.id, o.status, o.total_minor, o.captured_minor, count(c.id)::int AS charges,
            coalesce(sum(c.amount_minor), 0)::bigint AS amount, coalesce(sum(c.refunded_minor), 0)::bigint AS refunded
       FROM orders o LEFT JOIN sandbox_charges c ON c.reference IN (o.id::text, replace(o.id::text, '-', '')) AND c.paid_at IS NOT NULL
      WHERE o.shop_id = ANY($1) GROUP BY o.shop_id, o.id`, [x.shopIds]);
  const charged = ['paid', 'shipped', 'delivered', 'refunded'];
  const badLedger = ledger.filter((o) =>
    charged.includes(o.status) ? o.charges !== 1 || o.amount !== o.total_minor || o.captured_minor !== o.amount
    // A failed order keeps no money: no charge, or (a buyer who paid the wrong amount) every charge refunded.
    : ['payment_failed', 'rejected'].includes(o.status) ? o.charges !== 0 && Number(o.refunded) !== Number(o.amount)
    : o.status === 'cancelled' ? o.charges > 1 || o.refunded !== o.amount
    : false);
  const orphans = await q<{ id: string; reference: string }>(
    `SELECT c.id, c.reference FROM sandbox_charges c
      WHERE c.paid_at IS NOT NULL AND NOT EXISTS (SELECT 1 FROM orders o WHERE c.reference IN (o.id::text, replace(o.id::text, '-', '')))`);
  const nCharges = ledger.reduce((s, o) => s + o.charges, 0);
  out.push(check('ledger: one charge per paid order, none for failed ones', [...badLedger, ...orphans],
    `${nCharges} charges for ${ledger.filter((o) => charged.includes(o.status)).length} paid/shipped/delivered/refunded orders; ` +
    `${ledger.filter((o) => o.status === 'cancelled' && o.charges).length} cancelled orders charged and refunded in full; orphan charges ${orphans.length}`));

  // 5. Refunds never exceed captures, in our books and in the provider's, and both agree.
  const refunds = await q<{ id: string; captured: number; refunded: number; succeeded: number; ledger_refunded: number; ledger_amount: number; pending: number }>(
    `SELECT o.id, o.captured_minor AS captured, o.refunded_minor AS refunded,
            (SELECT coalesce(sum(amount_minor), 0) FROM refunds r WHERE r.order_id = o.id AND r.status = 'succeeded')::bigint AS succeeded,
            (SELECT count(*) FROM refunds r WHERE r.order_id = o.id AND r.status = 'pending')::int AS pending,
            (SELECT coalesce(sum(r.amount_minor), 0) FROM sandbox_refunds r JOIN sandbox_charges c ON c.id = r.charge_id
              WHERE c.reference IN (o.id::text, replace(o.id::text, '-', '')))::bigint AS ledger_refunded,
            (SELECT coalesce(sum(amount_minor), 0) FROM sandbox_charges c WHERE c.reference IN (o.id::text, replace(o.id::text, '-', '')))::bigint AS ledger_amount
       FROM orders o WHERE o.shop_id = ANY($1) AND (o.refunded_minor > 0 OR EXISTS (SELECT 1 FROM refunds r WHERE r.order_id = o.id))`, [x.shopIds]);
  const badRefunds = refunds.filter((r) =>
    r.refunded > r.captured || r.ledger_refunded > r.ledger_amount || r.succeeded !== r.refunded || r.ledger_refunded !== r.refunded || r.pending > 0);
  out.push(check('refunds never exceed captures (orders and ledger agree)', badRefunds,
    `${refunds.length} orders with refunds, ${refunds.reduce((s, r) => s + r.refunded, 0)} minor units refunded`));

  // 5b. Wallet QR orders against the provider's own ledger (GET /sandbox/charges), read after every notification
  // was delivered twice and replayed out of order: a paid one has exactly one captured charge of exactly its
  // total; a wrong amount ends payment_failed with the buyer's money refunded; a buyer who paid right is never
  // lost; no trade of theirs is left open.
  const wallet = await q<{ id: string; status: string; status_reason: string | null; total_minor: number; captured_minor: number }>(
    'SELECT id, status, status_reason, total_minor, captured_minor FROM orders WHERE id = ANY($1)', [x.wallets.map((w) => w.id)]);
  const orderOf = new Map(wallet.map((o) => [o.id, o]));
  const walletBad: string[] = [];
  let walletPaid = 0;
  let walletRefundedWrong = 0;
  for (const w of x.wallets) {
    const o = orderOf.get(w.id);
    const charges = w.charges;
    if (!o || !charges) {
      walletBad.push(`${w.id}: ${o ? 'no ledger answer' : 'no order'}`);
      continue;
    }
    const paid = charges.filter((c) => c.paidAt);
    const open = charges.filter((c) => c.status === 'pending');
    const say = (why: string) => walletBad.push(`${w.id} (#${w.n}, ${o.status}${o.status_reason ? `/${o.status_reason}` : ''}, total ${o.total_minor}, buyer ${w.buyer}): ${why}; ledger ${JSON.stringify(charges.map((c) => [c.status, c.amountMinor, c.refundedMinor]))}`);
    if (open.length) say('a trade left open at the provider');
    if (charged.includes(o.status)) {
      walletPaid++;
      if (w.wrongAmount) say('paid, though its buyer paid the wrong amount');
      if (paid.length !== 1 || paid[0]!.amountMinor !== Number(o.total_minor) || Number(o.captured_minor) !== Number(o.total_minor)) say('not exactly one captured charge of exactly its total');
    } else if (w.wrongAmount && w.buyer === 'paid') {
      if (o.status !== 'payment_failed' || o.status_reason !== 'payment_amount_mismatch') say('a wrong amount did not end payment_failed (payment_amount_mismatch)');
      else if (paid.length !== 1 || paid.some((c) => c.refundedMinor !== c.amountMinor || c.status !== 'refunded')) say('the wrong amount was not refunded in full');
      else walletRefundedWrong++;
    } else if (w.buyer === 'paid') {
      say('its buyer paid the right amount, yet it never became paid');
    } else if (paid.some((c) => c.refundedMinor !== c.amountMinor)) {
      say('money kept for an order that was never paid');
    }
    if (w.buyer === 'waiting' && FINAL.includes(o.status) === false) say('its buyer never got to pay');
  }
  out.push(check('wallet QR orders: one captured charge of exactly the total; wrong amounts failed and refunded; none open', walletBad,
    `${x.wallets.length} wallet QR orders: ${walletPaid} paid with one exact charge, ${walletRefundedWrong} wrong amounts failed and refunded, ` +
    `${x.wallets.filter((w) => w.buyer === 'paid').length} paid by their buyers (${x.wallets.reduce((s, w) => s + w.attempts, 0)} attempts)`, walletBad.slice(0, 10)));

  // 6. Every event of a shop with a webhook URL reached it at least once, in order per order.
  const events = await q<{ id: string; order_id: string; seq: number; state: string }>(
    'SELECT id, order_id, seq, state FROM order_events WHERE shop_id = ANY($1) ORDER BY order_id, seq', [x.webhookShopIds]);
  const missing = events.filter((e) => !x.sink.received.has(e.id));
  out.push(check('every webhook event delivered at least once', missing,
    `${events.length} events, ${x.sink.received.size} received (${x.sink.duplicates} duplicates dropped, ${x.sink.refusedOnPurpose} refused on purpose, ${x.sink.badSignatures} bad signatures)`));
  const seqOf = new Map(events.map((e) => [e.id, Number(e.seq)]));
  const disordered: string[] = [];
  for (const [orderId, ids] of x.sink.arrival) {
    const seqs = ids.map((id) => seqOf.get(id) ?? -1);
    if (seqs.some((s, i) => i > 0 && s < seqs[i - 1]!)) disordered.push(`${orderId}: arrival seqs ${seqs.join(',')}`);
  }
  out.push(check('webhooks in order per order, signatures valid', [...disordered, ...(x.sink.badSignatures ? [`${x.sink.badSignatures} bad signatures`] : [])],
    `${x.sink.arrival.size} orders' events checked`));
  return out;
}
