/**
 * The shop's HTTP client, counting every answer: by status overall, and separately while a dependency
 * (Redis, Postgres) is down, where the contract allows only 202 or 503 with Retry-After.
 */

export interface Answer {
  status: number; // 0: connection refused or reset; -1: no answer within the timeout
  json: any;
  retryAfter: string | null;
  error?: string;
}

export interface HttpStats {
  byStatus: Record<string, number>;
  /** Answers to intake requests while a dependency was down. */
  outage: { accepted: number; unavailableWithRetryAfter: number; unavailableWithout: number; refused: number; timeouts: number; other: number; e500: number };
  /** A few 5xx answers (other than 503) kept as evidence: route and body. */
  serverErrors: string[];
}

export const newStats = (): HttpStats => ({
  byStatus: {},
  outage: { accepted: 0, unavailableWithRetryAfter: 0, unavailableWithout: 0, refused: 0, timeouts: 0, other: 0, e500: 0 },
  serverErrors: [],
});

export type Call = (method: string, path: string, body?: unknown, headers?: Record<string, string>) => Promise<Answer>;

export function httpClient(base: string, authorization: string, stats: HttpStats, downNow: () => string | null, timeoutMs = 15_000): Call {
  return async (method, path, body, headers = {}) => {
    const outage = downNow();
    const intake = method === 'POST' && path === '/v1/orders';
    let a: Answer;
    try {
      const res = await fetch(base + path, {
        method,
        headers: { authorization, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
      const text = await res.text();
      let json: unknown;
      try {
        json = text ? JSON.parse(text) : undefined;
      } catch {
        json = text;
      }
      a = { status: res.status, json, retryAfter: res.headers.get('retry-after') };
    } catch (error) {
      const e = error as { name?: string; cause?: { code?: string } };
      const timeout = e.name === 'TimeoutError';
      a = { status: timeout ? -1 : 0, json: undefined, retryAfter: null, error: timeout ? 'timeout' : (e.cause?.code ?? String(error)) };
    }
    const key = a.status === 0 ? 'refused' : a.status === -1 ? 'timeout' : String(a.status);
    stats.byStatus[key] = (stats.byStatus[key] ?? 0) + 1;
    if (a.status >= 500 && a.status !== 503 && stats.serverErrors.length < 20) {
      stats.serverErrors.push(`${new Date().toISOString()} ${method} ${path} -> ${a.status} ${JSON.stringify(a.json).slice(0, 300)}${outage ? ` (while ${outage} down)` : ''}`);
    }
    const during = outage ?? downNow();
    if (intake && during) {
      const o = stats.outage;
      if (a.status === 202) o.accepted++;
      else if (a.status === 503 && a.retryAfter) o.unavailableWithRetryAfter++;
      else if (a.status === 503) o.unavailableWithout++;
      else if (a.status === 0) o.refused++;
      else if (a.status === -1) o.timeouts++;
      else if (a.status >= 500) o.e500++;
      else o.other++;
    }
    return a;
  };
}
