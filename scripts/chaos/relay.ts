import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sleep } from './cluster.js';

/**
 * The network between the payment providers and orderworks, as unreliable as the real one: the app's PUBLIC_URL
 * (where providers send notifications) points here, and every notification is passed on to the web process with
 * the provider's answer returned, byte for byte. On top of that, a share of them is delivered a second time later
 * (a duplicate that may overtake or trail the provider's own retries and later notifications), and `replayAll`
 * sends every captured notification again, newest first: out of order, long after the order moved on.
 * A provider's notification is signed over its body, so a replay is one the app must take as genuine.
 */
export interface NotifyRelay {
  url: string;
  /** Notifications received from the providers, by path (`/v1/payments/notify/alipay`...). */
  received: Record<string, number>;
  /** Answers of the web process: to the providers' own deliveries, and to the relay's duplicates and replays. */
  forwarded: Record<string, number>;
  duplicated: Record<string, number>;
  replayed: Record<string, number>;
  /** A few 5xx answers (other than 503) to duplicates or replays, as evidence. */
  serverErrors: string[];
  /** Sends every captured notification again, newest first; resolves when all are answered. */
  replayAll(): Promise<number>;
  close(): void;
}

interface Captured {
  path: string;
  headers: Record<string, string>;
  body: Buffer;
}

const HOP = new Set(['host', 'connection', 'content-length', 'transfer-encoding', 'keep-alive']);

function passOn(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) if (!HOP.has(k) && v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

const bump = (m: Record<string, number>, k: string | number) => void (m[String(k)] = (m[String(k)] ?? 0) + 1);

/**
 * `target()` is the web process's base URL; `duplicateShare` of notifications is sent again after a random
 * delay of up to `maxDelayMs`.
 */
export async function startNotifyRelay(target: () => string, duplicateShare: number, maxDelayMs: number, random: () => number): Promise<NotifyRelay> {
  const captured: Captured[] = [];
  const relay: NotifyRelay = {
    url: '', received: {}, forwarded: {}, duplicated: {}, replayed: {}, serverErrors: [],
    replayAll: async () => 0,
    close: () => undefined,
  };
  // Duplicates still waiting when the run ends are dropped with the server.
  const pending = new Set<Promise<unknown>>();

  const deliver = async (c: Captured, tally: Record<string, number>, what: string): Promise<{ status: number; headers: Headers | undefined; body: Buffer }> => {
    let status: number;
    let headers: Headers | undefined;
    let body = Buffer.alloc(0);
    try {
      const res = await fetch(target() + c.path, { method: 'POST', headers: c.headers, body: new Uint8Array(c.body), signal: AbortSignal.timeout(10_000) });
      body = Buffer.from(await res.arrayBuffer());
      [status, headers] = [res.status, res.headers];
    } catch (error) {
      status = (error as { name?: string }).name === 'TimeoutError' ? -1 : 0;
    }
    bump(tally, status === 0 ? 'refused' : status === -1 ? 'timeout' : status);
    if (what !== 'forward' && status >= 500 && status !== 503 && relay.serverErrors.length < 20) {
      relay.serverErrors.push(`${new Date().toISOString()} ${what} ${c.path} -> ${status} ${body.toString('utf8').slice(0, 200)}`);
    }
    return { status, headers, body };
  };

  const later = (work: () => Promise<unknown>, ms: number) => {
    const p = sleep(ms).then(work).catch(() => undefined);
    pending.add(p);
    void p.finally(() => pending.delete(p));
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const c: Captured = { path: req.url ?? '/', headers: passOn(req.headers), body: Buffer.concat(chunks) };
      if (req.method !== 'POST' || !c.path.startsWith('/v1/payments/notify/')) return void res.writeHead(404).end();
      bump(relay.received, c.path);
      captured.push(c);
      if (random() < duplicateShare) later(() => deliver(c, relay.duplicated, 'duplicate'), random() * maxDelayMs);
      void deliver(c, relay.forwarded, 'forward').then(({ status, headers, body }) => {
        if (status <= 0) return void res.writeHead(502).end();
        const keep: Record<string, string> = {};
        headers?.forEach((v, k) => {
          if (!HOP.has(k)) keep[k] = v;
        });
        res.writeHead(status, keep).end(body);
      });
    });
  });
  server.keepAliveTimeout = 1_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  relay.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  relay.replayAll = async () => {
    const all = [...captured].reverse();
    for (let i = 0; i < all.length; i += 8) await Promise.all(all.slice(i, i + 8).map((c) => deliver(c, relay.replayed, 'replay')));
    return all.length;
  };
  relay.close = () => {
    server.closeAllConnections();
    server.close();
  };
  return relay;
}
