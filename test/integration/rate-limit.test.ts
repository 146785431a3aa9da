import express from 'express';
import { describe, expect, it } from 'vitest';
import { rateLimitPerShop } from '../../src/http/rate-limit.js';

function app(perSecond: number, clock: { t: number }) {
  const a = express();
  a.use((req, _res, next) => {
    req.shop = { id: String(req.get('x-shop')), name: 'x', webhookUrl: null, webhookSecret: 'x' };
    next();
  });
  a.use(rateLimitPerShop(perSecond, () => clock.t));
  a.get('/', (_req, res) => void res.send('ok'));
  return a;
}

async function hit(server: ReturnType<ReturnType<typeof express>['listen']>, shop: string) {
  const { port } = server.address() as { port: number };
  return fetch(`http://127.0.0.1:${port}/`, { headers: { 'x-shop': shop } });
}

describe('rateLimitPerShop', () => {
  it('lets a burst of one second through, then answers 429 with Retry-After, per shop, and refills', async () => {
    const clock = { t: 0 };
    const server = app(5, clock).listen(0);
    try {
      const first = await Promise.all(Array.from({ length: 5 }, () => hit(server, 'a')));
      expect(first.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
      const limited = await hit(server, 'a');
      expect(limited.status).toBe(429);
      expect(limited.headers.get('retry-after')).toBe('1');
      expect(limited.headers.get('content-type')).toContain('application/problem+json');
      expect((await hit(server, 'b')).status).toBe(200);
      clock.t += 400; // two tokens back
      expect([(await hit(server, 'a')).status, (await hit(server, 'a')).status, (await hit(server, 'a')).status]).toEqual([200, 200, 429]);
    } finally {
      server.close();
    }
  });
});
