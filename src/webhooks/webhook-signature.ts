import { createHmac, timingSafeEqual } from 'node:crypto';

/** The header a shop verifies (docs/api.md section 8). */
export const SIGNATURE_HEADER = 'Orderworks-Signature';

const hmac = (secret: string, t: number, body: string) => createHmac('sha256', secret).update(`${t}.${body}`, 'utf8').digest('hex');

/**
 * `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`. The timestamp is signed with the body,
 * so a shop can refuse a captured request replayed later; each attempt is signed afresh with its own `t`.
 */
export function signWebhook(secret: string, body: string, nowSeconds = Math.floor(Date.now() / 1000)): string {
  return `t=${nowSeconds},v1=${hmac(secret, nowSeconds, body)}`;
}

/**
 * What a shop does on receipt (here for tests and as the reference for shops): recompute the HMAC over the
 * raw bytes received, compare in constant time, and refuse timestamps older than `toleranceSeconds`.
 */
export function verifyWebhook(secret: string, rawBody: string, header: string, toleranceSeconds = 300, nowSeconds = Math.floor(Date.now() / 1000)): boolean {
  const parts = new Map(header.split(',').map((kv) => kv.split('=', 2) as [string, string]));
  const t = Number(parts.get('t'));
  const given = parts.get('v1') ?? '';
  if (!Number.isInteger(t) || Math.abs(nowSeconds - t) > toleranceSeconds || !/^[0-9a-f]{64}$/.test(given)) return false;
  return timingSafeEqual(Buffer.from(given, 'hex'), Buffer.from(hmac(secret, t, rawBody), 'hex'));
}
