import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The shop's webhook endpoint, as a careful shop writes it: verify the signature, drop duplicates by event
 * id, answer 2xx. It also fails a small share of deliveries on purpose (a 500) so retries run under chaos.
 */
export interface WebhookSink {
  url: string;
  /** Event ids received with a valid signature (first time each). */
  received: Set<string>;
  /** Per order: its event ids in the order they first arrived. */
  arrival: Map<string, string[]>;
  hits: number;
  duplicates: number;
  badSignatures: number;
  refusedOnPurpose: number;
  onEvent: (event: { id: string; type: string; orderId: string; status: string }) => void;
  close(): void;
}

export async function startSink(secret: () => string, failShare: number, random: () => number): Promise<WebhookSink> {
  const sink: WebhookSink = {
    url: '',
    received: new Set(),
    arrival: new Map(),
    hits: 0,
    duplicates: 0,
    badSignatures: 0,
    refusedOnPurpose: 0,
    onEvent: () => undefined,
    close: () => undefined,
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      sink.hits++;
      const body = Buffer.concat(chunks).toString('utf8');
      if (!verify(secret(), body, req.headers['orderworks-signature'])) {
        sink.badSignatures++;
        return void res.writeHead(400).end();
      }
      if (random() < failShare) {
        sink.refusedOnPurpose++;
        return void res.writeHead(500).end();
      }
      let event: { id: string; type: string; data: { order: { id: string; status: string } } };
      try {
        event = JSON.parse(body);
      } catch {
        sink.badSignatures++;
        return void res.writeHead(400).end();
      }
      if (sink.received.has(event.id)) sink.duplicates++;
      else {
        sink.received.add(event.id);
        const orderId = event.data?.order?.id;
        const list = sink.arrival.get(orderId) ?? [];
        list.push(event.id);
        sink.arrival.set(orderId, list);
        sink.onEvent({ id: event.id, type: event.type, orderId, status: event.data?.order?.status });
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  server.keepAliveTimeout = 1_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  sink.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
  sink.close = () => {
    server.closeAllConnections();
    server.close();
  };
  return sink;
}

/** docs/api.md section 8: `t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`, t within 5 minutes. */
function verify(secret: string, body: string, header: unknown): boolean {
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(header));
  if (!m || Math.abs(Date.now() / 1000 - Number(m[1])) > 300) return false;
  const expected = createHmac('sha256', secret).update(`${m[1]}.${body}`).digest();
  return timingSafeEqual(Buffer.from(m[2]!, 'hex'), expected);
}
