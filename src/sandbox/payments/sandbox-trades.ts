import type { Database } from '../../db/database.js';
import type { PaymentMethod } from '../../domain/order.js';
import { TRADE_COLUMNS, isPaid, type SandboxTrade, type TradeFlow } from './sandbox-trade.js';

/**
 * Trades that wait for a buyer: opened by the merchant, then paid, declined or closed. Every change is one
 * conditional statement or a locked read-then-write, so a buyer pressing Pay while the merchant closes the
 * trade ends one way or the other, never both.
 */

export interface OpenTrade {
  method: PaymentMethod;
  reference: string;
  tradeKey: string;
  flow: TradeFlow;
  merchant: string;
  requestedMinor: number;
  currency: string;
  newId: () => string;
  newCheckoutRef: () => string;
  notifyUrl?: string | undefined;
  expiresAt?: Date | undefined;
  details?: Record<string, string>;
  token?: string;
  /** A PayPal order the shop's own page had its buyer approve (a token script). */
  approved?: boolean;
  /** Born closed: a cancel that arrived before its trade (Alipay), so the trade can never be paid. */
  closed?: boolean;
}

export type BuyerOutcome =
  | { kind: 'paid'; trade: SandboxTrade }
  /** PayPal: the buyer approved; the merchant captures. */
  | { kind: 'approved'; trade: SandboxTrade }
  | { kind: 'declined'; trade: SandboxTrade }
  | { kind: 'not_found' }
  | { kind: 'conflict'; trade: SandboxTrade; reason: 'paid' | 'closed' | 'expired' | 'approved' | 'declined' };

export type ApprovedCapture =
  /** `fresh`: captured by this call; `replay`: captured earlier under the same request id. */
  | { kind: 'captured'; trade: SandboxTrade; fresh: boolean; replay: boolean }
  | { kind: 'not_approved'; trade: SandboxTrade }
  | { kind: 'expired'; trade: SandboxTrade };

/** Payment-code trades end with a failed payment: the buyer needs a new code, the merchant a new trade. */
const CLOSED_BY_DECLINE: readonly TradeFlow[] = ['bar_code', 'codepay'];

export function createSandboxTrades(db: Database) {
  const one = async <T>(sql: string, bind: unknown[], tx?: Parameters<Database['rows']>[2]) => (await db.rows<T>(sql, bind, tx))[0];
  const byId = (id: string) => one<SandboxTrade>(`SELECT ${TRADE_COLUMNS} FROM sandbox_charges WHERE id = $1`, [id]);

  /** Why the buyer can no longer act on a trade, if they cannot. */
  const settled = (t: SandboxTrade): BuyerOutcome | undefined => {
    if (t.expired) return { kind: 'conflict', trade: t, reason: 'expired' };
    if (t.status === 'closed') return { kind: 'conflict', trade: t, reason: 'closed' };
    if (isPaid(t)) return { kind: 'conflict', trade: t, reason: 'paid' };
    if (t.method === 'paypal' && t.approvedAt) return { kind: 'conflict', trade: t, reason: 'approved' };
    // A failed 3-D Secure check ends that attempt: the merchant has to confirm the PaymentIntent again.
    if (t.method === 'card' && t.declinedAt) return { kind: 'conflict', trade: t, reason: 'declined' };
    return undefined;
  };

  /** Runs `act` on the trade behind `checkoutRef`, locked, unless the buyer can no longer act on it. */
  const asBuyer = (checkoutRef: string, act: (t: SandboxTrade, tx: Parameters<Database['rows']>[2]) => Promise<BuyerOutcome>) =>
    db.transaction(async (tx): Promise<BuyerOutcome> => {
      const t = await one<SandboxTrade>(`SELECT ${TRADE_COLUMNS} FROM sandbox_charges WHERE checkout_ref = $1 FOR UPDATE`, [checkoutRef], tx);
      if (!t) return { kind: 'not_found' };
      return settled(t) ?? act(t, tx);
    });

  return {
    findTradeById: byId,
    findByCheckoutRef: (ref: string) => one<SandboxTrade>(`SELECT ${TRADE_COLUMNS} FROM sandbox_charges WHERE checkout_ref = $1`, [ref]),

    /** Opens a trade, or answers the one its key already names (`created: false`): the caller compares. */
    async open(t: OpenTrade): Promise<{ created: boolean; trade: SandboxTrade }> {
      const made = await one<SandboxTrade>(
        `INSERT INTO sandbox_charges (id, method, reference, trade_key, checkout_ref, flow, merchant, requested_minor, amount_minor, currency,
                                      status, token, details, notify_url, expires_at, approved_at, closed_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9, $10, $11, $12::jsonb, $13, $14, CASE WHEN $15 THEN now() END, CASE WHEN $10 = 'closed' THEN now() END)
         ON CONFLICT DO NOTHING RETURNING ${TRADE_COLUMNS}`,
        [t.newId(), t.method, t.reference, t.tradeKey, t.newCheckoutRef(), t.flow, t.merchant, t.requestedMinor, t.currency.toUpperCase(),
          t.closed ? 'closed' : 'pending', t.token ?? '', JSON.stringify(t.details ?? {}), t.notifyUrl ?? null, t.expiresAt ?? null, t.approved === true],
      );
      if (made) return { created: true, trade: made };
      const existing = await one<SandboxTrade>(`SELECT ${TRADE_COLUMNS} FROM sandbox_charges WHERE method = $1 AND trade_key = $2`, [t.method, t.tradeKey]);
      if (!existing) throw new Error(`sandbox trade ${t.method}/${t.tradeKey} could not be opened`);
      return { created: false, trade: existing };
    },

    /** The buyer opened the checkout page: an Alipay QR trade exists at the provider from its first scan. */
    async markScanned(checkoutRef: string): Promise<void> {
      await db.rows(`UPDATE sandbox_charges SET scanned_at = now() WHERE checkout_ref = $1 AND scanned_at IS NULL RETURNING id`, [checkoutRef]);
    },

    /** The buyer pays (PayPal: approves), by default exactly what was asked. */
    buyerPays(checkoutRef: string, paid: { amountMinor?: number | undefined; currency?: string | undefined } = {}): Promise<BuyerOutcome> {
      return asBuyer(checkoutRef, async (t, tx) => {
        const bind = [t.id, paid.amountMinor ?? null, paid.currency?.toUpperCase() ?? null];
        if (t.method === 'paypal') {
          // Approving a PayPal order moves no money; the buyer approves the amount the order shows.
          const trade = await one<SandboxTrade>(
            `UPDATE sandbox_charges SET approved_at = now(), scanned_at = coalesce(scanned_at, now()), requested_minor = coalesce($2, requested_minor),
               currency = coalesce($3, currency), updated_at = now() WHERE id = $1 RETURNING ${TRADE_COLUMNS}`, bind, tx);
          return { kind: 'approved', trade: trade! };
        }
        const trade = await one<SandboxTrade>(
          `UPDATE sandbox_charges SET status = 'captured', amount_minor = coalesce($2, requested_minor), currency = coalesce($3, currency),
             paid_at = now(), scanned_at = coalesce(scanned_at, now()), updated_at = now() WHERE id = $1 RETURNING ${TRADE_COLUMNS}`, bind, tx);
        return { kind: 'paid', trade: trade! };
      });
    },

    /** The buyer declines, or their bank does: a payment-code trade closes, any other stays open for another try. */
    buyerDeclines(checkoutRef: string): Promise<BuyerOutcome> {
      return asBuyer(checkoutRef, async (t, tx) => {
        const closes = CLOSED_BY_DECLINE.includes(t.flow);
        const trade = await one<SandboxTrade>(
          `UPDATE sandbox_charges SET declined_at = now(), scanned_at = coalesce(scanned_at, now()), updated_at = now(),
             details = details || jsonb_build_object('declines', (coalesce((details->>'declines')::int, 0) + 1)::text),
             status = CASE WHEN $2 THEN 'closed' ELSE status END, closed_at = CASE WHEN $2 THEN now() ELSE closed_at END
           WHERE id = $1 RETURNING ${TRADE_COLUMNS}`, [t.id, closes], tx);
        return { kind: 'declined', trade: trade! };
      });
    },

    /** The merchant closes an unpaid trade; `closed: false` when it was not open (the trade as it stands). */
    async closeTrade(id: string): Promise<{ closed: boolean; trade: SandboxTrade | undefined }> {
      const closed = await one<SandboxTrade>(
        `UPDATE sandbox_charges SET status = 'closed', closed_at = now(), updated_at = now() WHERE id = $1 AND status = 'pending' RETURNING ${TRADE_COLUMNS}`, [id]);
      return closed ? { closed: true, trade: closed } : { closed: false, trade: await byId(id) };
    },

    /** PayPal's capture of an approved order; the same PayPal-Request-Id again is a replay of the first. */
    captureApproved(id: string, requestId: string): Promise<ApprovedCapture> {
      return db.transaction(async (tx): Promise<ApprovedCapture> => {
        const t = await one<SandboxTrade>(`SELECT ${TRADE_COLUMNS} FROM sandbox_charges WHERE id = $1 FOR UPDATE`, [id], tx);
        if (!t) throw new Error(`no sandbox trade ${id}`);
        if (isPaid(t)) return { kind: 'captured', trade: t, fresh: false, replay: requestId !== '' && t.details.requestId === requestId };
        if (t.status === 'closed') return { kind: 'expired', trade: t };
        if (!t.approvedAt) return { kind: 'not_approved', trade: t };
        const trade = await one<SandboxTrade>(
          `UPDATE sandbox_charges SET status = 'captured', amount_minor = requested_minor, paid_at = now(), updated_at = now(),
             details = details || jsonb_build_object('requestId', $2::text) WHERE id = $1 RETURNING ${TRADE_COLUMNS}`, [id, requestId], tx);
        return { kind: 'captured', trade: trade!, fresh: true, replay: false };
      });
    },

    /** Counts a call for a token script (tok_flaky's "first two answer 503" holds across processes and restarts). */
    async countAttempt(method: PaymentMethod, key: string): Promise<number> {
      const [row] = await db.rows<{ attempts: number }>(
        `INSERT INTO sandbox_capture_attempts (method, reference, attempts) VALUES ($1, $2, 1)
         ON CONFLICT (method, reference) DO UPDATE SET attempts = sandbox_capture_attempts.attempts + 1 RETURNING attempts`, [method, key]);
      return row?.attempts ?? 0;
    },

    /** The merchant changes an open trade (PayPal's PATCH). */
    async updateTrade(id: string, change: { reference?: string; requestedMinor?: number; currency?: string; details?: Record<string, string> }): Promise<SandboxTrade> {
      const trade = await one<SandboxTrade>(
        `UPDATE sandbox_charges SET reference = coalesce($2, reference), requested_minor = coalesce($3, requested_minor),
           currency = coalesce($4, currency), details = details || $5::jsonb, updated_at = now() WHERE id = $1 RETURNING ${TRADE_COLUMNS}`,
        [id, change.reference ?? null, change.requestedMinor ?? null, change.currency?.toUpperCase() ?? null, JSON.stringify(change.details ?? {})]);
      if (!trade) throw new Error(`no sandbox trade ${id}`);
      return trade;
    },
  };
}
