import type { KeyObject } from 'node:crypto';
import { rawJsonMembers } from './raw-json.js';
import { rsaSign, rsaVerify } from './rsa.js';

/**
 * Alipay OpenAPI v2 signing (docs/providers.md section 1), shared by the adapter and the sandbox.
 * Request: every parameter but `sign` and empty ones, keys in ASCII order, raw `k=v` joined by `&`, RSA2.
 * Response: RSA2 over the raw text of the `*_response` node, exactly as received.
 */

export type AlipayParams = Record<string, string | undefined>;

export function alipaySignContent(params: AlipayParams, omit: readonly string[] = ['sign']): string {
  return Object.keys(params)
    .filter((k) => !omit.includes(k) && params[k] !== undefined && params[k] !== '')
    .sort()
    .map((k) => `${k}=${params[k]}`)
    .join('&');
}

export function signAlipayParams(params: AlipayParams, key: string | KeyObject): string {
  return rsaSign(alipaySignContent(params), key);
}

export function verifyAlipayParams(params: AlipayParams, key: string | KeyObject): boolean {
  return params.sign !== undefined && rsaVerify(alipaySignContent(params), params.sign, key);
}

/** Notifications leave out `sign_type` too (the SDK then retries with it kept; so do we). */
export function verifyAlipayNotification(params: AlipayParams, key: string | KeyObject): boolean {
  const sign = params.sign;
  if (!sign) return false;
  return rsaVerify(alipaySignContent(params, ['sign', 'sign_type']), sign, key) || rsaVerify(alipaySignContent(params), sign, key);
}

/** `alipay.trade.pay` -> `alipay_trade_pay_response`. */
export const responseKey = (method: string) => `${method.replace(/\./g, '_')}_response`;

/**
 * The raw text of the response node and the signature, without re-serialising anything: the node's value
 * exactly as Alipay wrote it, wherever `sign` and other members (`alipay_cert_sn`) stand beside it.
 */
export function extractAlipayResponse(raw: string, method: string): { key: string; node: string; sign?: string } | undefined {
  const members = rawJsonMembers(raw.trim());
  if (!members) return undefined;
  const sign = members.get('sign');
  const signText = sign?.startsWith('"') ? (JSON.parse(sign) as string) : undefined;
  for (const key of [responseKey(method), 'error_response']) {
    const node = members.get(key);
    if (node === undefined) continue;
    return signText === undefined ? { key, node } : { key, node, sign: signText };
  }
  return undefined;
}

/**
 * A gateway answer: its response node's raw text, and whether it carries a signature that Alipay's key made
 * over exactly that text. Undefined when the answer holds no node for `method` (nor an `error_response`).
 */
export function verifyAlipayResponse(
  raw: string,
  method: string,
  key: string | KeyObject,
): { key: string; node: string; signature: 'valid' | 'invalid' | 'absent' } | undefined {
  const found = extractAlipayResponse(raw, method);
  if (!found) return undefined;
  const signature = found.sign === undefined ? 'absent' : rsaVerify(found.node, found.sign, key) ? 'valid' : 'invalid';
  return { key: found.key, node: found.node, signature };
}

/** The sandbox's side: `{"<key>":<node>,"sign":"..."}` with the node serialised once and signed as sent. */
export function buildAlipayResponse(method: string, node: Record<string, unknown>, key: string | KeyObject): string {
  const text = JSON.stringify(node);
  return `{"${responseKey(method)}":${text},"sign":"${rsaSign(text, key)}"}`;
}

/** `yyyy-MM-dd HH:mm:ss` in Beijing time (UTC+8, no daylight saving), as the gateway expects. */
export function alipayTimestamp(at: Date = new Date()): string {
  const bj = new Date(at.getTime() + 8 * 3600_000).toISOString();
  return `${bj.slice(0, 10)} ${bj.slice(11, 19)}`;
}
