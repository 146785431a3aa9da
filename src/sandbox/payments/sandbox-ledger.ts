import { randomBytes } from 'node:crypto';
import type { Database } from '../../db/database.js';
import type { PaymentMethod } from '../../domain/order.js';

/**
 * The sandbox provider's ledger and token scripts (CONTRACT.md section 6), the same for every provider:
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
  /** The same merchant reference again with another amount or currency. */
  | { kind: 'mismatch'; charge: SandboxCharge };

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

export function createSandboxLedger(db: Database) {
  const one = async <T>(sql: string, bind: unknown[]) => (await db.rows<T>(sql, bind))[0];
  const findCharge = (method: PaymentMethod, reference: string) =>
    one<SandboxCharge>(`SELECT ${CHARGE} FROM sandbox_charges WHERE method = $1 AND reference = $2`, [method, reference]);

  return {
    findCharge,
    findChargeById: (method: PaymentMethod, id: string) =>
      one<SandboxCharge>(`SELECT ${CHARGE} FROM sandbox_charges WHERE method = $1 AND id = $2`, [method, id]),
    /** The charge a provider-level key (a Stripe Idempotency-Key...) first created, if any. */
    findChargeByKey: (method: PaymentMethod, field: string, value: string) =>
      one<SandboxCharge>(`SELECT ${CHARGE} FROM sandbox_charges WHERE method = $1 AND details->>$2 = $3`, [method, field, value]),
    chargesByReference: (reference: string) =>
      db.rows<SandboxCharge>(`SELECT ${CHARGE} FROM sandbox_charges WHERE reference = $1 ORDER BY created_at`, [reference]),
    findRefund: (method: PaymentMethod, refundKey: string) =>
      one<SandboxRefund>(`SELECT ${REFUND} FROM sandbox_refunds WHERE method = $1 AND refund_key = $2`, [method, refundKey]),
    refundsOf: (chargeId: string) => db.rows<SandboxRefund>(`SELECT ${REFUND} FROM sandbox_refunds WHERE charge_id = $1 ORDER BY created_at`, [chargeId]),

    /** One charge per (method, reference), whatever the concurrency: the provider's idempotency. */
    async capture(input: {
      method: PaymentMethod; reference: string; token: string; amountMinor: number; currency: string; newId: () => string;
      details?: Record<string, string>;
    }): Promise<CaptureOutcome> {
      const { method, reference, token } = input;
      const currency = input.currency.toUpperCase();
      const replayOf = (charge: SandboxCharge): CaptureOutcome =>
        charge.amountMinor === input.amountMinor && charge.currency === currency
          ? { kind: 'captured', charge, replay: true, hang: false }
          : { kind: 'mismatch', charge };
      const existing = await findCharge(method, reference);
      if (existing) return replayOf(existing);
      if (token === 'tok_decline') return { kind: 'declined' };
      if (token === 'tok_flaky') {
        const counted = await one<{ attempts: number }>(
          `INSERT INTO sandbox_capture_attempts (method, reference, attempts) VALUES ($1, $2, 1)
           ON CONFLICT (method, reference) DO UPDATE SET attempts = sandbox_capture_attempts.attempts + 1 RETURNING attempts`,
          [method, reference],
        );
        if ((counted?.attempts ?? 0) <= 2) return { kind: 'unavailable' };
      }
      const inserted = await one<SandboxCharge>(
        `INSERT INTO sandbox_charges (id, method, reference, amount_minor, currency, status, token, details)
         VALUES ($1, $2, $3, $4, $5, 'captured', $6, $7::jsonb) ON CONFLICT (method, reference) DO NOTHING RETURNING ${CHARGE}`,
        [input.newId(), method, reference, input.amountMinor, currency, token, JSON.stringify(input.details ?? {})],
      );
      if (inserted) return { kind: 'captured', charge: inserted, replay: false, hang: token === 'tok_timeout' };
      const raced = await findCharge(method, reference);
      if (!raced) throw new Error('sandbox charge vanished');
      return replayOf(raced);
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

    async activeFault(method: PaymentMethod): Promise<FaultMode | undefined> {
      const row = await one<{ mode: FaultMode }>(`SELECT mode FROM sandbox_faults WHERE method = $1 AND mode <> 'none' AND until > now()`, [method]);
      return row?.mode;
    },
    async setFault(method: PaymentMethod, mode: FaultMode | 'none', forMs: number): Promise<Date> {
      const row = await one<{ until: Date }>(
        `INSERT INTO sandbox_faults (method, mode, until) VALUES ($1, $2, now() + make_interval(secs => $3::double precision / 1000))
         ON CONFLICT (method) DO UPDATE SET mode = EXCLUDED.mode, until = EXCLUDED.until RETURNING until`,
        [method, mode, forMs],
      );
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
