import { TransientError } from '../domain/errors.js';
import { outboundRequest, type OutboundResponse } from '../outbound-http.js';
import type { RawNotification } from '../domain/payment-gateway.js';

/**
 * The one door to a payment provider's HTTP API. It classifies what is the same for every provider:
 *  - a timeout: transient and ambiguous (the request may have been acted on before the answer was lost);
 *  - a network error: transient; ambiguous unless the connection was never made (refused, unknown host);
 *  - 429 and 5xx: transient, with Retry-After when given; 503 and 429 say "not processed", other 5xx
 *    (500, 502, 504) may have been processed, so they are ambiguous too;
 *  - every other answer is returned: 2xx and 4xx mean different things per provider, the adapter decides.
 */

export const DEFAULT_PROVIDER_TIMEOUT_MS = 10_000;

export interface ProviderRequest {
  method: 'GET' | 'POST' | 'PATCH';
  url: string;
  headers?: Record<string, string>;
  body?: string;
}

export interface ProviderResponse {
  status: number;
  headers: Headers;
  /** The raw body text: signatures are computed over exact bytes, so it is never re-serialised. */
  text: string;
}

const NOT_CONNECTED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

export async function providerFetch(provider: string, req: ProviderRequest, timeoutMs = DEFAULT_PROVIDER_TIMEOUT_MS): Promise<ProviderResponse> {
  let res: OutboundResponse;
  try {
    res = await outboundRequest({ ...req, timeoutMs });
  } catch (error) {
    throw networkFailure(provider, error, timeoutMs);
  }
  if (res.status === 429 || res.status >= 500) {
    const retryAfterSeconds = parseRetryAfter(res.headers.get('retry-after'));
    const ambiguous = res.status !== 429 && res.status !== 503;
    throw new TransientError('provider_unavailable', `${provider} answered ${res.status}`, {
      ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}),
      ...(ambiguous ? { ambiguous } : {}),
    });
  }
  // Providers answer where they are asked; a redirect is not followed but refused, as an answer we cannot use.
  if (res.status >= 300 && res.status < 400) {
    throw new TransientError('provider_unavailable', `${provider} answered a redirect (${res.status})`, { ambiguous: true });
  }
  return { status: res.status, headers: res.headers, text: res.text };
}

function networkFailure(provider: string, error: unknown, timeoutMs: number): TransientError {
  const name = (error as { name?: string }).name;
  if (name === 'TimeoutError' || name === 'AbortError') {
    return new TransientError('provider_unavailable', `${provider} did not answer within ${timeoutMs} ms`, { ambiguous: true, cause: error });
  }
  const code = String((error as { code?: string }).code ?? '');
  return new TransientError('provider_unavailable', `${provider} could not be reached (${code || 'network error'})`, {
    ...(NOT_CONNECTED.has(code) ? {} : { ambiguous: true }),
    cause: error,
  });
}

/** Retry-After is either delta-seconds or an HTTP date. */
export function parseRetryAfter(value: string | null): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

/** JSON.parse that never throws: a provider's garbled body is handled by the caller's status checks. */
export function parseJson<T = Record<string, unknown>>(text: string): T | undefined {
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}

/**
 * `read` once per notification: a gateway reads a notification's body in `inspectNotification` and again in
 * `parseNotification` (the same object, moments apart), and a JSON parse of it is a measurable share of web's
 * work per paid order. A read that throws is not kept.
 */
export function oncePerNotification<T>(read: (raw: RawNotification) => T): (raw: RawNotification) => T {
  const seen = new WeakMap<RawNotification, T>();
  return (raw) => {
    if (seen.has(raw)) return seen.get(raw)!;
    const value = read(raw);
    seen.set(raw, value);
    return value;
  };
}

/** The header value of `name` from a raw header record (Node lower-cases incoming names). */
export function headerValue(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}
