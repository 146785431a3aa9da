import { createHash } from 'node:crypto';
import type { CarrierCode, ShipmentStatus, TrackingEvent } from '../domain/carrier.js';
import { PermanentError, TransientError } from '../domain/errors.js';

/**
 * The one place where a carrier's HTTP answer is classified (carrier.ts header): every adapter sends through
 * `carrierRequest`, so a 429, a 503 or a hung connection means the same thing whichever carrier gave it.
 */
export interface CarrierHttp {
  carrier: CarrierCode;
  timeoutMs: number;
  /** Injected in tests only when a fake transport is simpler than a server; defaults to global fetch. */
  fetch?: typeof fetch;
}

export interface CarrierResponse {
  status: number;
  headers: Headers;
  text: string;
}

/** When a 429 names no Retry-After: one minute is what the carriers' own throttles tend to use. */
const DEFAULT_RATE_LIMIT_SECONDS = 60;

export async function carrierRequest(http: CarrierHttp, url: string, init: RequestInit): Promise<CarrierResponse> {
  const doFetch = http.fetch ?? fetch;
  let response: Response;
  let text: string;
  try {
    // The timeout covers the body too: a carrier that sends headers and then stalls is as down as one that never answers.
    const signal = AbortSignal.timeout(http.timeoutMs);
    response = await doFetch(url, { ...init, signal });
    text = await response.text();
  } catch (error) {
    const timedOut = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
    // Tracking queries read, never write: a timeout is not ambiguous, retrying it is always safe.
    throw new TransientError('carrier_unavailable', `${http.carrier}: ${timedOut ? `no answer within ${http.timeoutMs} ms` : 'network error'}`, {
      cause: error,
    });
  }
  classifyStatus(http.carrier, response.status, response.headers, text);
  return { status: response.status, headers: response.headers, text };
}

function classifyStatus(carrier: CarrierCode, status: number, headers: Headers, text: string): void {
  if (status >= 200 && status < 300) return;
  const retryAfterSeconds = parseRetryAfter(headers.get('retry-after'), Date.now());
  if (status === 429) {
    throw new TransientError('rate_limited', `${carrier}: rate limited`, { retryAfterSeconds: retryAfterSeconds ?? DEFAULT_RATE_LIMIT_SECONDS });
  }
  if (status >= 500 || status === 408) {
    throw new TransientError('carrier_unavailable', `${carrier}: HTTP ${status}`, retryAfterSeconds === undefined ? {} : { retryAfterSeconds });
  }
  // 401/403 are bad credentials, 404 an unknown waybill or endpoint, 400 a request we built wrong: none passes by itself.
  throw new PermanentError('carrier_rejected', `${carrier}: HTTP ${status} ${text.slice(0, 200)}`.trim());
}

/** Retry-After is either delta-seconds or an HTTP date (RFC 9110 10.2.3); anything else is ignored. */
export function parseRetryAfter(value: string | null, nowMs: number): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, Math.ceil((at - nowMs) / 1000));
}

/** JSON from a carrier: a 200 carrying HTML (a maintenance page) is an outage, not a rejection. */
export function parseCarrierJson(carrier: CarrierCode, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new TransientError('carrier_unavailable', `${carrier}: the answer is not JSON`, { cause: error });
  }
}

export const md5 = (text: string) => createHash('md5').update(text, 'utf8');
/** UPPER(hex MD5(text)): how Kuaidi100 signs its queries and its pushes. */
export const upperHexMd5 = (text: string) => md5(text).digest('hex').toUpperCase();

/**
 * Chinese carriers write local time in UTC+8 without a zone: `yyyy-MM-dd HH:mm:ss`, sometimes only
 * `yyyy-MM-dd HH` or `yyyy-MM-dd` (Kuaidi100's predicted arrival). Returns null for anything else.
 */
export function parseChinaTime(value: string | null | undefined): Date | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2})(?::(\d{2})(?::(\d{2}))?)?)?$/.exec((value ?? '').trim());
  if (!m) return null;
  const [, y, mo, d, h = '0', mi = '0', s = '0'] = m;
  const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h) - 8, Number(mi), Number(s));
  return Number.isNaN(ms) ? null : new Date(ms);
}

/** Events oldest first, as the port promises; the sort is stable so same-second events keep the carrier's order. */
export function oldestFirst<E extends Pick<TrackingEvent, 'at'>>(events: E[]): E[] {
  return events.map((e, i) => [e, i] as const).sort(([a, i], [b, j]) => a.at.getTime() - b.at.getTime() || i - j).map(([e]) => e);
}

/** The status a parcel is in is that of its latest event; no events yet means the carrier only knows of it. */
export function latestStatus(events: TrackingEvent[]): ShipmentStatus {
  return events.at(-1)?.status ?? 'info_received';
}

/**
 * A phone number as Kuaidi100 takes it (its `phone` parameter, required for SF and checked by ZTO): one number,
 * digits only, a mainland number without its +86 / 0086 country code, a landline without its extension.
 * Undefined when nothing usable is left.
 */
export function kuaidi100Phone(phone: string | undefined): string | undefined {
  const main = (phone ?? '').split(/\s*(?:ext\.?|x|#|,|转)\s*\d*\s*$/i)[0] ?? '';
  let digits = main.replace(/\D/g, '');
  if (/^\s*(\+|00)86/.test(main)) digits = digits.replace(/^(00)?86/, '');
  return digits.length >= 4 ? digits : undefined;
}

/** The last four digits of a phone number: what SF and ZTO check when the waybill is not the caller's own. */
export function lastFourDigits(phone: string | undefined): string | undefined {
  const digits = (phone ?? '').replace(/\D/g, '');
  return digits.length >= 4 ? digits.slice(-4) : undefined;
}
