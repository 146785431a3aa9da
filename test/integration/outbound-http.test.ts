import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outboundRequest } from '../../src/outbound-http.js';
import { providerFetch } from '../../src/payments/provider-http.js';

let server: http.Server;
let base: string;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      if (req.url === '/slow') return setTimeout(() => res.end('late'), 1_000);
      if (req.url === '/moved') return res.writeHead(302, { location: '/elsewhere' }).end();
      res.writeHead(201, { 'content-type': 'application/json', 'x-echo': req.headers['x-sent'] ?? '' });
      res.end(JSON.stringify({ method: req.method, body, length: req.headers['content-length'] }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('outboundRequest', () => {
  it('sends the body with its length and returns status, headers and text', async () => {
    const res = await outboundRequest({ method: 'POST', url: `${base}/x`, headers: { 'x-sent': 'yes' }, body: '{"a":"é"}', timeoutMs: 2_000 });
    expect(res.status).toBe(201);
    expect(res.headers.get('x-echo')).toBe('yes');
    expect(JSON.parse(res.text)).toEqual({ method: 'POST', body: '{"a":"é"}', length: '10' });
  });

  it('gives up after timeoutMs with a TimeoutError', async () => {
    await expect(outboundRequest({ method: 'GET', url: `${base}/slow`, timeoutMs: 100 })).rejects.toMatchObject({ name: 'TimeoutError' });
  });

  it('reports a refused connection with its code', async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    await expect(outboundRequest({ method: 'GET', url: `http://127.0.0.1:${port}/`, timeoutMs: 1_000 })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});

describe('providerFetch over it', () => {
  it('classifies a timeout as transient and ambiguous, a refused connection as transient only, a redirect as unusable', async () => {
    const failure = (url: string, timeoutMs: number) =>
      providerFetch('card', { method: 'GET', url }, timeoutMs).then(
        () => null,
        (e: { code: string; permanent: boolean; options: { ambiguous?: boolean }; message: string }) => ({ code: e.code, permanent: e.permanent, ambiguous: Boolean(e.options.ambiguous), message: e.message }),
      );
    expect(await failure(`${base}/slow`, 100)).toEqual({ code: 'provider_unavailable', permanent: false, ambiguous: true, message: 'card did not answer within 100 ms' });
    expect(await failure('http://127.0.0.1:1/', 1_000)).toEqual({ code: 'provider_unavailable', permanent: false, ambiguous: false, message: 'card could not be reached (ECONNREFUSED)' });
    expect(await failure(`${base}/moved`, 1_000)).toMatchObject({ code: 'provider_unavailable', permanent: false, ambiguous: true });
  });
});
