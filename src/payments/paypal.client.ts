import { PermanentError } from '../domain/errors.js';
import { parseJson, providerFetch } from './provider-http.js';

/** PayPal's REST door: an OAuth client-credentials token, cached and renewed, and JSON calls under it. */

export interface PaypalError { name?: string; message?: string; details?: Array<{ issue?: string }> }
export interface PaypalAnswer<T> { status: number; json: T & PaypalError }

/** A request body that is JSON text already, sent as is. */
export class RawJson {
  constructor(readonly text: string) {}
}

export const issueOf = (e: PaypalError) => e.details?.[0]?.issue ?? e.name ?? '';

export function paypalClient(options: { baseUrl: string; clientId: string; clientSecret: string; timeoutMs?: number | undefined }) {
  let token: { value: string; expiresAt: number } | undefined;
  let fetching: Promise<string> | undefined;

  const fetchToken = async (): Promise<string> => {
    const res = await providerFetch('paypal', {
      method: 'POST',
      url: `${options.baseUrl}/v1/oauth2/token`,
      headers: {
        authorization: `Basic ${Buffer.from(`${options.clientId}:${options.clientSecret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'grant_type=client_credentials',
    }, options.timeoutMs);
    const json = parseJson<{ access_token?: string; expires_in?: number }>(res.text);
    if (res.status !== 200 || !json?.access_token) throw new PermanentError('provider_rejected', `paypal oauth answered ${res.status}`);
    // Renew a minute early so a token never expires between our check and PayPal's.
    token = { value: json.access_token, expiresAt: Date.now() + Math.max(0, (json.expires_in ?? 0) - 60) * 1000 };
    return token.value;
  };
  const accessToken = (): Promise<string> => {
    if (token && token.expiresAt > Date.now()) return Promise.resolve(token.value);
    fetching ??= fetchToken().finally(() => (fetching = undefined));
    return fetching;
  };

  const call = async <T>(method: 'GET' | 'POST' | 'PATCH', path: string, body?: unknown, headers: Record<string, string> = {}, retried = false): Promise<PaypalAnswer<T>> => {
    const res = await providerFetch('paypal', {
      method,
      url: `${options.baseUrl}${path}`,
      headers: { authorization: `Bearer ${await accessToken()}`, 'content-type': 'application/json', ...headers },
      ...(body === undefined ? {} : { body: body instanceof RawJson ? body.text : JSON.stringify(body) }),
    }, options.timeoutMs);
    if (res.status === 401 && !retried) {
      token = undefined; // revoked or expired early: one fresh token, then give up
      return call<T>(method, path, body, headers, true);
    }
    return { status: res.status, json: parseJson<T & PaypalError>(res.text) ?? ({} as T & PaypalError) };
  };

  const rejected = (what: string, a: PaypalAnswer<unknown>) =>
    new PermanentError('provider_rejected', `paypal ${what}: ${a.status} ${issueOf(a.json)} ${a.json.message ?? ''}`.trim());

  return { call, rejected };
}
