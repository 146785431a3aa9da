import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Database } from '../../src/db/database.js';
import { hashApiKey } from '../../src/domain/shop.service.js';

export interface Hit {
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * A shop's webhook endpoint on 127.0.0.1:0. It records each request's raw body and headers; `answer` picks the
 * status of each reply (null: never answer, to provoke a timeout).
 */
export async function startSink() {
  const sink = {
    url: '',
    hits: [] as Hit[],
    answer: (() => 200) as (hit: Hit) => number | null,
    close: () => undefined as void,
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const hit = { headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      sink.hits.push(hit);
      const status = sink.answer(hit);
      if (status !== null) res.writeHead(status).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  sink.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
  sink.close = () => {
    server.closeAllConnections();
    server.close();
  };
  return sink;
}

/** What a shop does, written from the contract alone: HMAC-SHA256(secret, "<t>.<raw body>"), a recent t. */
export function verifyAsShop(secret: string, rawBody: string, header: unknown): boolean {
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(header));
  if (!m || Math.abs(Date.now() / 1000 - Number(m[1])) > 300) return false;
  const expected = createHmac('sha256', secret).update(`${m[1]}.${rawBody}`).digest();
  return timingSafeEqual(Buffer.from(m[2]!, 'hex'), expected);
}

/** A shop row with a known API key and webhook secret. */
export async function insertShop(db: Database, webhookUrl: string | null) {
  const shop = { id: randomUUID(), apiKey: `ow_test_${randomUUID()}`, secret: `whsec_${randomUUID()}` };
  await db.rows(
    'INSERT INTO shops (id, name, api_key_hash, webhook_url, webhook_secret) VALUES ($1, $2, $3, $4, $5)',
    [shop.id, 'Shop', hashApiKey(shop.apiKey), webhookUrl, shop.secret],
  );
  return shop;
}

/** A placed order row of the shop, without lines (webhooks only need it to exist and render). */
export async function insertOrder(db: Database, shopId: string) {
  const id = randomUUID();
  await db.rows(
    `INSERT INTO orders (id, shop_id, idempotency_key, request_hash, status, currency, customer, shipping_address, payment_method, payment_token)
     VALUES ($1, $2, $3, 'h', 'placed', 'CNY', '{"name":"Li Lei"}',
             '{"name":"Li Lei","line1":"1 Rd","city":"Shanghai","postalCode":"200001","country":"CN"}', 'alipay', 'tok_ok')`,
    [id, shopId, `key-${id}`],
  );
  return id;
}
