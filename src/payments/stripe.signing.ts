import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Stripe's webhook signature: `Stripe-Signature: t=<unix s>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`.
 * Several v1 entries may appear while a secret is being rolled; any one matching is enough.
 */

export const STRIPE_TOLERANCE_SECONDS = 300;

export function stripeSignature(secret: string, body: string, timestamp: number): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`, 'utf8').digest('hex');
}

export function stripeSignatureHeader(secret: string, body: string, at = Date.now()): string {
  const t = Math.floor(at / 1000);
  return `t=${t},v1=${stripeSignature(secret, body, t)}`;
}

/** True when a v1 signature matches and the timestamp is within the tolerance (old ones are replays). */
export function verifyStripeSignature(
  header: string | undefined,
  body: string,
  secret: string,
  options: { now?: number; toleranceSeconds?: number } = {},
): boolean {
  if (!header) return false;
  const parts = header.split(',').map((p) => p.trim().split('='));
  const t = Number(parts.find(([k]) => k === 't')?.[1]);
  if (!Number.isInteger(t)) return false;
  const age = (options.now ?? Date.now()) / 1000 - t;
  if (Math.abs(age) > (options.toleranceSeconds ?? STRIPE_TOLERANCE_SECONDS)) return false;
  const expected = Buffer.from(stripeSignature(secret, body, t), 'hex');
  return parts
    .filter(([k, v]) => k === 'v1' && v !== undefined && /^[0-9a-f]+$/i.test(v))
    .some(([, v]) => {
      const got = Buffer.from(v!, 'hex');
      return got.length === expected.length && timingSafeEqual(got, expected);
    });
}
