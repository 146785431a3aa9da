/** The demo's HTTP client: a shop or an operator calling the public API, as any upstream system would. */

/** A failure the demo reports as one line and exits non-zero on. */
export class DemoError extends Error {}

export interface Reply {
  status: number;
  json: any;
}

export type Call = (method: string, path: string, body?: unknown, headers?: Record<string, string>) => Promise<Reply>;

export function apiClient(base: string, auth: { bearer: string } | { basic: { user: string; password: string } }): Call {
  const authorization =
    'bearer' in auth ? `Bearer ${auth.bearer}` : `Basic ${Buffer.from(`${auth.basic.user}:${auth.basic.password}`).toString('base64')}`;
  return async (method, path, body, headers = {}) => {
    let res: Response;
    try {
      res = await fetch(base + path, {
        method,
        headers: { authorization, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(10_000),
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      throw new DemoError(`cannot reach ${base}: ${cause?.code ?? cause?.message ?? (error as Error).message}`);
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: res.status, json };
  };
}

/** Throws a DemoError naming the call unless it answered one of `ok`. */
export function expectStatus(reply: Reply, ok: number[], what: string): Reply {
  if (!ok.includes(reply.status)) {
    const fields = (reply.json?.errors ?? []).map((e: { path: string; message: string }) => `${e.path} ${e.message}`).join('; ');
    throw new DemoError(`${what}: HTTP ${reply.status}${reply.json?.detail ? ` (${reply.json.detail}${fields ? `: ${fields}` : ''})` : ''}`);
  }
  return reply;
}
