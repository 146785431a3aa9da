import { randomBytes } from 'node:crypto';
import { createBatcher } from '../../batcher.js';
import type { Database } from '../../db/database.js';
import type { PaymentMethod } from '../../domain/order.js';

/**
 * The sandbox provider's ledger and token scripts (docs/api.md section 6), the same for every provider:
 * each provider module only translates its wire format to these calls and the outcomes back.
 */

export interface SandboxCharge {
  id: string;
  method: PaymentMethod;
  reference: string;
  amountMinor: number;
  currency: string;
  status: 'captured' | 'partially_refunded' | 'refunded';
  refundedMinor: number;
  token: string;
  details: Record<string, string>;
  createdAt: Date;
}

export interface SandboxRefund {
  id: string;
  refundKey: string;
  chargeId: string;
  amountMinor: number;
  details: Record<string, string>;
  createdAt: Date;
}

export type CaptureOutcome =
  /** `hang`: tok_timeout's first call: charged, but the answer must never arrive. */
  | { kind: 'captured'; charge: SandboxCharge; replay: boolean; hang: boolean }
  | { kind: 'declined' }
  | { kind: 'unavailable' }
  /** The same merchant reference again with another amount or currency (or, `byKey`, the same idempotency key with another reference or amount). */
  | { kind: 'mismatch'; charge: SandboxCharge; byKey?: true };

export type RefundResult =
  | { kind: 'refunded'; refund: SandboxRefund; charge: SandboxCharge; replay: boolean }
  | { kind: 'exceeded'; charge: SandboxCharge }
  | { kind: 'mismatch'; refund: SandboxRefund; charge: SandboxCharge };

export type FaultMode = 'error500' | 'timeout' | 'rate_limit';

const CHARGE = `id, method, reference, amount_minor AS "amountMinor", trim(currency) AS currency, status,
  refunded_minor AS "refundedMinor", token, details, created_at AS "createdAt"`;
const REFUND = `id, refund_key AS "refundKey", charge_id AS "chargeId", amount_minor AS "amountMinor", details, created_at AS "createdAt"`;

export const randomDigits = (n: number) => Array.from(randomBytes(n), (b) => String(b % 10)).join('');
export const randomAlnum = (n: number, upper = false) => {
  const chars = upper ? 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789' : 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  return Array.from(randomBytes(n), (b) => chars[b % chars.length]).join('');
};

export type SandboxLedger = ReturnType<typeof createSandboxLedger>;

interface CaptureInput {
  method: PaymentMethod;
  reference: string;
  token: string;
  amountMinor: number;
  currency: string;
  newId: () => string;
  idempotencyKey?: string | undefined;
  details?: Record<string, string>;
}

interface NewCharge {
  id: string;
  method: PaymentMethod;
  reference: string;
  amountMinor: number;
  currency: string;
  token: string;
  details: Record<string, string>;
  key: string | undefined;
}

/** How stale the copy of the faults table that requests are checked against may be. */
const FAULTS_FRESH_MS = 1_000;

export function createSandboxLedger(db: Database) {
  const one = async <T>(sql: string, bind: unknown[]) => (await db.rows<T>(sql, bind))[0];
  let faults: { readAt: number; rows: Promise<Array<{ method: PaymentMethod; mode: FaultMode; until: Date }>> } | undefined;
  const findCharge = (method: PaymentMethod, reference: string) =>
    one<SandboxCharge>(`SELECT ${CHARGE} FROM sandbox_charges WHERE method = $1 AND reference = $2`, [method, reference]);
  /**
   * New charges, group-committed: the captures that arrive while one insert runs share the next. A charge is
   * made unless its (method, reference) or its idempotency key already charged; within one insert, a second
   * row for the same reference is skipped by ON CONFLICT like any other. Answers the charge made, if any.
   */
  const insertCharges = async (items: NewCharge[]) => {
    const made = await db.rows<SandboxCharge>(
      `INSERT INTO sandbox_charges (id, method, reference, amount_minor, currency, status, token, details)
       SELECT c.id, c.method, c.reference, c.amount_minor, c.currency, 'captured', c.token, c.details::jsonb
         FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::text[], $7::text[], $8::text[])
              AS c(id, method, reference, amount_minor, currency, token, details, key)
        WHERE c.key IS NULL OR NOT EXISTS (SELECT 1 FROM sandbox_charges s WHERE s.method = c.method AND s.details->>'idempotencyKey' = c.key)
       ON CONFLICT (method, reference) DO NOTHING RETURNING ${CHARGE}`,
      [
        items.map((c) => c.id), items.map((c) => c.method), items.map((c) => c.reference), items.map((c) => c.amountMinor),
        items.map((c) => c.currency), items.map((c) => c.token), items.map((c) => JSON.stringify(c.details)), items.map((c) => c.key ?? null),
      ],
    );
    const byId = new Map(made.map((c) => [c.id, c]));
    return items.map((c) => byId.get(c.id));
  };
  // One bad row fails the whole insert: then each alone, so only its own request fails.
  const charges = createBatcher(insertCharges, { maxBatch: 64, retryAlone: () => true });
  /** What earlier calls left for this capture: the charge of its reference, or the one its key first made. */
  const earlier = async (c: CaptureInput): Promise<CaptureOutcome | undefined> => {
    const key = c.idempotencyKey;
    const rows = await db.rows<SandboxCharge>(
      `SELECT ${CHARGE} FROM sandbox_charges WHERE method = $1 AND (reference = $2 OR details->>'idempotencyKey' = $3)`,
      [c.method, c.reference, key ?? null],
    );
    const keyed = key ? rows.find((ch) => ch.details.idempotencyKey === key) : undefined;
    if (keyed && (keyed.reference !== c.reference || keyed.amountMinor !== c.amountMinor)) return { kind: 'mismatch', charge: keyed, byKey: true };
    const existing = rows.find((ch) => ch.reference === c.reference);
    if (!existing) return undefined;
    return existing.amountMinor === c.amountMinor && existing.currency === c.currency
      ? { kind: 'captured', charge: existing, replay: true, hang: false }
      : { kind: 'mismatch', charge: existing };
  };

  return {
    findCharge,
    findChargeById: (method: PaymentMethod, id: string) =>
      one<SandboxCharge>(`SELECT ${CHARGE} FROM sandbox_charges WHERE method = $1 AND id = $2`, [method, id]),
    chargesByReference: (reference: string) =>
      db.rows<SandboxCharge>(`SELECT ${CHARGE} FROM sandbox_charges WHERE reference = $1 ORDER BY created_at`, [reference]),
    findRefund: (method: PaymentMethod, refundKey: string) =>
      one<SandboxRefund>(`SELECT ${REFUND} FROM sandbox_refunds WHERE method = $1 AND refund_key = $2`, [method, refundKey]),
    refundsOf: (chargeId: string) => db.rows<SandboxRefund>(`SELECT ${REFUND} FROM sandbox_refunds WHERE charge_id = $1 ORDER BY created_at`, [chargeId]),

    /**
     * One charge per (method, reference), whatever the concurrency: the provider's idempotency. With an
     * `idempotencyKey` (a Stripe Idempotency-Key), the key also charges at most once, and only for the
     * reference and amount it first came with. A new charge costs one statement, shared with the charges
     * made alongside: the insert is tried first, and only a request it does not charge reads what is there.
     */
    async capture(input: CaptureInput): Promise<CaptureOutcome> {
      const { method, reference, token, idempotencyKey: key } = input;
      const c = { ...input, currency: input.currency.toUpperCase() };
      const insert = async () => {
        const charge = await charges.submit({
          id: input.newId(), method, reference, amountMinor: c.amountMinor, currency: c.currency, token, key,
          details: { ...input.details, ...(key ? { idempotencyKey: key } : {}) },
        });
        return charge && ({ kind: 'captured', charge, replay: false, hang: token === 'tok_timeout' } as const);
      };
      const scripted = token === 'tok_decline' || token === 'tok_flaky';
      const first = (scripted ? undefined : await insert()) ?? (await earlier(c));
      if (first) return first;
      if (token === 'tok_decline') return { kind: 'declined' };
      if (token === 'tok_flaky') {
        const counted = await one<{ attempts: number }>(
          `INSERT INTO sandbox_capture_attempts (method, reference, attempts) VALUES ($1, $2, 1)
           ON CONFLICT (method, reference) DO UPDATE SET attempts = sandbox_capture_attempts.attempts + 1 RETURNING attempts`,
          [method, reference],
        );
        if ((counted?.attempts ?? 0) <= 2) return { kind: 'unavailable' };
      }
      const made = (await insert()) ?? (await earlier(c));
      if (!made) throw new Error('sandbox charge vanished');
      return made;
    },

    /** Refunds add up to at most the charge; the same refund key again is the same refund. */
    refund(input: { method: PaymentMethod; chargeId: string; refundKey: string; amountMinor: number; newId: () => string; details?: Record<string, string> }): Promise<RefundResult> {
      return db.transaction(async (tx) => {
        // Lock the charge first: concurrent refunds of one charge, with the same key or not, take turns.
        const [charge] = await db.rows<SandboxCharge>(`SELECT ${CHARGE} FROM sandbox_charges WHERE id = $1 FOR UPDATE`, [input.chargeId], tx);
        if (!charge) throw new Error(`no sandbox charge ${input.chargeId}`);
        const [prior] = await db.rows<SandboxRefund>(`SELECT ${REFUND} FROM sandbox_refunds WHERE method = $1 AND refund_key = $2`, [input.method, input.refundKey], tx);
        if (prior) {
          const same = prior.chargeId === charge.id && prior.amountMinor === input.amountMinor;
          return same ? { kind: 'refunded', refund: prior, charge, replay: true } : { kind: 'mismatch', refund: prior, charge };
        }
        if (input.amountMinor <= 0 || charge.refundedMinor + input.amountMinor > charge.amountMinor) return { kind: 'exceeded', charge };
        const [refund] = await db.rows<SandboxRefund>(
          `INSERT INTO sandbox_refunds (id, method, refund_key, charge_id, amount_minor, details) VALUES ($1, $2, $3, $4, $5, $6::jsonb) RETURNING ${REFUND}`,
          [input.newId(), input.method, input.refundKey, charge.id, input.amountMinor, JSON.stringify(input.details ?? {})], tx,
        );
        const [updated] = await db.rows<SandboxCharge>(
          `UPDATE sandbox_charges SET refunded_minor = refunded_minor + $2, updated_at = now(),
             status = CASE WHEN refunded_minor + $2 = amount_minor THEN 'refunded' ELSE 'partially_refunded' END
           WHERE id = $1 RETURNING ${CHARGE}`,
          [charge.id, input.amountMinor], tx,
        );
        return { kind: 'refunded', refund: refund!, charge: updated!, replay: false };
      });
    },

    /**
     * Asked before every request, so read from a copy of the faults table at most FAULTS_FRESH_MS old: a real
     * provider does not make its callers pay a query per request for this. A fault set through this process
     * shows at once; one set through another web process within FAULTS_FRESH_MS.
     */
    async activeFault(method: PaymentMethod): Promise<FaultMode | undefined> {
      if (!faults || Date.now() - faults.readAt > FAULTS_FRESH_MS) {
        const read = { readAt: Date.now(), rows: db.rows<{ method: PaymentMethod; mode: FaultMode; until: Date }>(
          `SELECT method, mode, until FROM sandbox_faults WHERE mode <> 'none' AND until > now()`,
        ) };
        faults = read;
        read.rows.catch(() => {
          if (faults === read) faults = undefined;
        });
      }
      const fault = (await faults.rows).find((f) => f.method === method);
      return fault && new Date(fault.until).getTime() > Date.now() ? fault.mode : undefined;
    },
    async setFault(method: PaymentMethod, mode: FaultMode | 'none', forMs: number): Promise<Date> {
      const row = await one<{ until: Date }>(
        `INSERT INTO sandbox_faults (method, mode, until) VALUES ($1, $2, now() + make_interval(secs => $3::double precision / 1000))
         ON CONFLICT (method) DO UPDATE SET mode = EXCLUDED.mode, until = EXCLUDED.until RETURNING until`,
        [method, mode, forMs],
      );
      faults = undefined;
      return row!.until;
    },

    async savePaypalOrder(order: { id: string; reference: string; amountMinor: number; currency: string }): Promise<void> {
      await db.rows(
        `INSERT INTO sandbox_paypal_orders (id, reference, amount_minor, currency) VALUES ($1, $2, $3, $4)
         ON CONFLICT (id) DO UPDATE SET reference = EXCLUDED.reference, amount_minor = EXCLUDED.amount_minor, currency = EXCLUDED.currency RETURNING id`,
        [order.id, order.reference, order.amountMinor, order.currency.toUpperCase()],
      );
    },
    findPaypalOrder: (id: string) =>
      one<{ id: string; reference: string; amountMinor: number; currency: string }>(
        `SELECT id, reference, amount_minor AS "amountMinor", trim(currency) AS currency FROM sandbox_paypal_orders WHERE id = $1`, [id]),
  };
}
