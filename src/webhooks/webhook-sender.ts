import http from 'node:http';
import https from 'node:https';
import type { LookupAddress } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { AddressRefusedError, hostOf, resolveChecked, type Lookup } from './address-guard.js';
import type { SendResult, WebhookSender } from './webhook-ports.js';

export interface SenderOptions {
  /** WEBHOOK_ALLOW_PRIVATE_NETWORKS: let webhooks reach loopback and private addresses (local mode, tests). */
  allowPrivateNetworks: boolean;
  /** The whole attempt (DNS, connect, answer) must fit in it: 5 s by contract. */
  timeoutMs?: number;
  lookup?: Lookup;
}

/** Enough of an answer's body to be polite to the server; the status is all that counts. */
const MAX_BODY_BYTES = 64 * 1024;

/** Answers the connection's lookup with the addresses already checked, so DNS is not asked twice. */
const pinned = (addresses: LookupAddress[]): LookupFunction =>
  ((_host: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    if (options?.all) callback(null, addresses);
    else callback(null, addresses[0]!.address, addresses[0]!.family);
  }) as LookupFunction;

function classify(statusCode: number, durationMs: number): SendResult {
  if (statusCode >= 200 && statusCode < 300) return { kind: 'delivered', statusCode, durationMs };
  if (statusCode >= 500 || statusCode === 408 || statusCode === 429) return { kind: 'transient', statusCode, error: `HTTP ${statusCode}`, durationMs };
  // A redirect is not followed: it could lead anywhere, including past the address guard.
  const error = statusCode >= 300 && statusCode < 400 ? `HTTP ${statusCode}: redirects are not followed` : `HTTP ${statusCode}`;
  return { kind: 'permanent', statusCode, error, durationMs };
}

function request(url: URL, addresses: LookupAddress[], body: string, headers: Record<string, string>, signal: AbortSignal): Promise<number> {
  return new Promise((resolve, reject) => {
    const client = url.protocol === 'https:' ? https : http;
    const req = client.request(
      {
        protocol: url.protocol,
        hostname: hostOf(url), // still the name: the Host header and TLS (SNI, certificate) use it
        port: url.port || undefined,
        path: `${url.pathname}${url.search}`,
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), 'user-agent': 'orderworks-webhooks/1', ...headers },
        lookup: pinned(addresses),
        agent: false, // no pooled socket: a pool is keyed by name and could hold a connection to an unchecked address
        signal,
      },
      (res) => {
        let seen = 0;
        const done = () => {
          res.destroy();
          resolve(res.statusCode ?? 0);
        };
        res.on('data', (chunk: Buffer) => {
          seen += chunk.length;
          if (seen > MAX_BODY_BYTES) done();
        });
        res.on('end', done);
        res.on('error', done);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** POSTs webhooks with a deadline, to checked addresses only, and classifies the answer. */
export function createWebhookSender(opts: SenderOptions): WebhookSender {
  const timeoutMs = opts.timeoutMs ?? 5_000;
  return {
    async post(rawUrl, body, headers) {
      const started = performance.now();
      const elapsed = () => Math.round(performance.now() - started);
      const signal = AbortSignal.timeout(timeoutMs);
      const aborted = new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));
      aborted.catch(() => undefined);
      try {
        const url = new URL(rawUrl);
        const addresses = await Promise.race([resolveChecked(url, opts.allowPrivateNetworks, opts.lookup), aborted]);
        const status = await request(url, addresses, body, headers, signal);
        return classify(status, elapsed());
      } catch (error) {
        if (error instanceof AddressRefusedError) return { kind: 'permanent', statusCode: null, error: `refused: ${error.message}`, durationMs: elapsed() };
        if (error instanceof TypeError && (error as { code?: string }).code === 'ERR_INVALID_URL') {
          return { kind: 'permanent', statusCode: null, error: 'the webhookUrl is not a URL', durationMs: elapsed() };
        }
        if (signal.aborted) return { kind: 'transient', statusCode: null, error: `timeout after ${timeoutMs} ms`, durationMs: elapsed() };
        const e = error as { code?: string; message?: string };
        return { kind: 'transient', statusCode: null, error: e.code ? `${e.code}: ${e.message}` : String(e.message ?? error), durationMs: elapsed() };
      }
    },
  };
}
