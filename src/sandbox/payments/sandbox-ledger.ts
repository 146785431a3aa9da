import { createBatcher } from '../../batcher.js';
import type { Database } from '../../db/database.js';
import type { PaymentMethod } from '../../domain/order.js';
import { createSandboxFaults } from './sandbox-faults.js';
import { createSandboxTrades } from './sandbox-trades.js';
import {
  REFUND_COLUMNS, TRADE_COLUMNS, isPaid, referenceForms, type SandboxRefund, type SandboxTrade, type TradeFlow,
} from './sandbox-trade.js';

/**
 * The sandbox provider's ledger (trades, refunds, injected faults) and its token scripts, the same for every
 * provider. This file holds the trades made at once (payment codes, tokens) and refunds; trades that wait
 * for a buyer are in sandbox-trades.ts.
 */

export type CaptureOutcome =
  /** `hang`: tok_timeout's first call: charged, but the answer must never arrive. */
  | { kind: 'captured'; charge: SandboxTrade; replay: boolean; hang: boolean }
  /** tok_pending: the buyer has to confirm on their phone (GET /sandbox/checkout/{checkoutRef}). */
  | { kind: 'pending'; charge: SandboxTrade; replay: boolean }
  | { kind: 'declined' }
  | { kind: 'unavailable' }
  /** The key names a trade that was closed (cancelled, reversed, expired). */
  | { kind: 'closed'; charge: SandboxTrade }
  /** The same key again with another reference, amount or currency (`byKey`: an idempotency key reused). */
  | { kind: 'mismatch'; charge: SandboxTrade; byKey?: true };

export type RefundResult =
  | { kind: 'refunded'; refund: SandboxRefund; charge: SandboxTrade; replay: boolean }
  | { kind: 'exceeded'; charge: SandboxTrade }
  | { kind: 'not_paid'; charge: SandboxTrade }
  | { kind: 'mismatch'; refund: SandboxRefund; charge: SandboxTrade };

export type SandboxLedger = ReturnType<typeof createSandboxLedger>;

interface CaptureInput {
  method: PaymentMethod;
  reference: string;
  token: string;
  amountMinor: number;
  currency: string;
  newId: () => string;
  /** A Stripe Idempotency-Key: then the trade is keyed by it, not by the reference. */
  idempotencyKey?: string | undefined;
  details?: Record<string, string>;
  merchant?: string;
  flow?: TradeFlow;
  notifyUrl?: string | undefined;
  /** Where the buyer confirms a tok_pending trade. */
  newCheckoutRef?: () => string;
}

interface NewRow {
  id: string; method: PaymentMethod; reference: string; tradeKey: string; flow: TradeFlow; merchant: string; amountMinor: number;
  currency: string; token: string; details: Record<string, string>; notifyUrl: string | null; checkoutRef: string | null; pending: boolean;
}

export const tradeKeyOf = (c: { reference: string; idempotencyKey?: string | undefined }) => (c.idempotencyKey ? `key:${c.idempotencyKey}` : c.reference);

export function createSandboxLedger(db: Database) {
  const trades = createSandboxTrades(db);
  const one = async <T>(sql: string, bind: unknown[]) => (await db.rows<T>(sql, bind))[0];
  const findTrade = (method: PaymentMethod, tradeKey: string) =>
    one<SandboxTrade>(`SELECT ${TRADE_COLUMNS} FROM sandbox_charges WHERE method = $1 AND trade_key = $2`, [method, tradeKey]);

  /**
   * New trades, group-committed: the captures that arrive while one insert runs share the next. A row whose
   * key already has a trade (or repeats one earlier in the same insert) is skipped by ON CONFLICT.
   */
  const insertRows = async (items: NewRow[]) => {
    const col = <K extends keyof NewRow>(k: K) => items.map((r) => r[k]);
    const made = await db.rows<SandboxTrade>(
      `INSERT INTO sandbox_charges (id, method, reference, trade_key, flow, merchant, requested_minor, amount_minor, currency, status,
                                    token, details, notify_url, checkout_ref, paid_at)
       SELECT c.id, c.method, c.reference, c.trade_key, c.flow, c.merchant, c.amount, CASE WHEN c.pending THEN 0 ELSE c.amount END, c.currency,
              CASE WHEN c.pending THEN 'pending' ELSE 'captured' END, c.token, c.details::jsonb, c.notify_url, c.checkout_ref,
              CASE WHEN c.pending THEN NULL ELSE now() END
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[], $8::text[], $9::text[], $10::text[],
                     $11::text[], $12::text[], $13::boolean[])
              AS c(id, method, reference, trade_key, flow, merchant, amount, currency, token, details, notify_url, checkout_ref, pending)
       ON CONFLICT DO NOTHING RETURNING ${TRADE_COLUMNS}`,
      [
        col('id'), col('method'), col('reference'), col('tradeKey'), col('flow'), col('merchant'), col('amountMinor'), col('currency'),
        col('token'), items.map((r) => JSON.stringify(r.details)), col('notifyUrl'), col('checkoutRef'), col('pending'),
      ],
    );
    const byId = new Map(made.map((c) => [c.id, c]));
    return items.map((c) => byId.get(c.id));
  };
  // One bad row fails the whole insert: then each alone, so only its own request fails.
  const inserts = createBatcher(insertRows, { maxBatch: 64, retryAlone: () => true });

  /** What earlier calls left under this capture's key. */
  const earlier = async (c: CaptureInput): Promise<CaptureOutcome | undefined> => {
    const existing = await findTrade(c.method, tradeKeyOf(c));
    if (!existing) return undefined;
    // A closed trade stays closed, whatever is asked of it (an Alipay cancel may have closed it before it existed).
    if (existing.status === 'closed' && !c.idempotencyKey) return { kind: 'closed', charge: existing };
    const same = existing.reference === c.reference && existing.requestedMinor === c.amountMinor && existing.currency === c.currency;
    if (!same) return c.idempotencyKey ? { kind: 'mismatch', charge: existing, byKey: true } : { kind: 'mismatch', charge: existing };
    if (isPaid(existing)) return { kind: 'captured', charge: existing, replay: true, hang: false };
    if (existing.status === 'closed') return { kind: 'closed', charge: existing };
    return existing.token === c.token ? { kind: 'pending', charge: existing, replay: true } : { kind: 'mismatch', charge: existing };
  };

  return {
    ...trades,
    ...createSandboxFaults(db),
    findTrade,
    findCharge: (method: PaymentMethod, reference: string) => findTrade(method, reference),
    findChargeById: (method: PaymentMethod, id: string) =>
      one<SandboxTrade>(`SELECT ${TRADE_COLUMNS} FROM sandbox_charges WHERE method = $1 AND id = $2`, [method, id]),
    /** Every trade of a merchant reference, in either form of an order id (see referenceForms). */
    chargesByReference: (reference: string) =>
      db.rows<SandboxTrade>(`SELECT ${TRADE_COLUMNS} FROM sandbox_charges WHERE reference = ANY($1::text[]) ORDER BY created_at, id`, [referenceForms(reference)]),
    findRefund: (method: PaymentMethod, refundKey: string) =>
      one<SandboxRefund>(`SELECT ${REFUND_COLUMNS} FROM sandbox_refunds WHERE method = $1 AND refund_key = $2`, [method, refundKey]),
    refundsOf: (chargeId: string) => db.rows<SandboxRefund>(`SELECT ${REFUND_COLUMNS} FROM sandbox_refunds WHERE charge_id = $1 ORDER BY created_at`, [chargeId]),

    /**
     * A trade made at once by a payment code or token, at most one per key whatever the concurrency: the
     * provider's idempotency. With an `idempotencyKey` (a Stripe Idempotency-Key) the key is the trade's,
     * and it charges only for the reference and amount it first came with. A new trade costs one statement,
     * shared with the trades made alongside: the insert is tried first, and only a request it does not
     * make reads what is there.
     */
    async capture(input: CaptureInput): Promise<CaptureOutcome> {
      const { method, reference, token } = input;
      const c = { ...input, currency: input.currency.toUpperCase() };
      const pending = token === 'tok_pending';
      const insert = async (): Promise<CaptureOutcome | undefined> => {
        const made = await inserts.submit({
          id: input.newId(), method, reference, tradeKey: tradeKeyOf(input), flow: input.flow ?? 'token', merchant: input.merchant ?? '',
          amountMinor: c.amountMinor, currency: c.currency, token, notifyUrl: input.notifyUrl ?? null, pending,
          checkoutRef: pending || input.newCheckoutRef ? (input.newCheckoutRef?.() ?? null) : null,
          details: { ...input.details, ...(input.idempotencyKey ? { idempotencyKey: input.idempotencyKey } : {}) },
        });
        if (!made) return undefined;
        return pending ? { kind: 'pending', charge: made, replay: false } : { kind: 'captured', charge: made, replay: false, hang: token === 'tok_timeout' };
      };
      const scripted = token === 'tok_decline' || token === 'tok_flaky';
      const first = (scripted ? undefined : await insert()) ?? (await earlier(c));
      if (first) return first;
      if (token === 'tok_decline') return { kind: 'declined' };
      if (token === 'tok_flaky') {
        if ((await trades.countAttempt(method, tradeKeyOf(input))) <= 2) return { kind: 'unavailable' };
      }
      const made = (await insert()) ?? (await earlier(c));
      if (!made) throw new Error('sandbox charge vanished');
      return made;
    },

    /** Refunds add up to at most what the buyer paid; the same refund key again is the same refund. */
    refund(input: { method: PaymentMethod; chargeId: string; refundKey: string; amountMinor: number; newId: () => string; details?: Record<string, string> }): Promise<RefundResult> {
      return db.transaction(async (tx) => {
        // Lock the trade first: concurrent refunds of one trade, with the same key or not, take turns.
        const [charge] = await db.rows<SandboxTrade>(`SELECT ${TRADE_COLUMNS} FROM sandbox_charges WHERE id = $1 FOR UPDATE`, [input.chargeId], tx);
        if (!charge) throw new Error(`no sandbox charge ${input.chargeId}`);
        const [prior] = await db.rows<SandboxRefund>(`SELECT ${REFUND_COLUMNS} FROM sandbox_refunds WHERE method = $1 AND refund_key = $2`, [input.method, input.refundKey], tx);
        if (prior) {
          const same = prior.chargeId === charge.id && prior.amountMinor === input.amountMinor;
          return same ? { kind: 'refunded', refund: prior, charge, replay: true } : { kind: 'mismatch', refund: prior, charge };
        }
        if (!isPaid(charge)) return { kind: 'not_paid', charge };
        if (input.amountMinor <= 0 || charge.refundedMinor + input.amountMinor > charge.amountMinor) return { kind: 'exceeded', charge };
        const [refund] = await db.rows<SandboxRefund>(
          `INSERT INTO sandbox_refunds (id, method, refund_key, charge_id, amount_minor, details) VALUES ($1, $2, $3, $4, $5, $6::jsonb) RETURNING ${REFUND_COLUMNS}`,
          [input.newId(), input.method, input.refundKey, charge.id, input.amountMinor, JSON.stringify(input.details ?? {})], tx,
        );
        const [updated] = await db.rows<SandboxTrade>(
          `UPDATE sandbox_charges SET refunded_minor = refunded_minor + $2, updated_at = now(),
             status = CASE WHEN refunded_minor + $2 = amount_minor THEN 'refunded' ELSE 'partially_refunded' END
           WHERE id = $1 RETURNING ${TRADE_COLUMNS}`,
          [charge.id, input.amountMinor], tx,
        );
        return { kind: 'refunded', refund: refund!, charge: updated!, replay: false };
      });
    },
  };
}
