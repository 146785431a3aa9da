import type { AddressInfo } from 'node:net';
import express, { type Express } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApiDocument, openApiRouter } from '../../src/http/openapi.js';
import { createWebProcess } from '../../src/web-process.js';
import { createInfrastructure, type Infrastructure } from '../../src/runtime.js';
import { startSystem, type TestSystem } from '../support/system.js';

/**
 * Contract drift, both ways: every route the web process serves under /v1 (and the health routes) is in the
 * OpenAPI document, and every operation in the document is served.
 */

/**
 * Documented routes still being built or wired elsewhere, tolerated while the app does not serve them. Once one
 * is served this test fails, asking to remove it here, so the list cannot rot.
 */
const PUBLIC = (path: string) => path.startsWith('/v1/') || ['/healthz', '/readyz', '/metrics', '/openapi.json'].includes(path);
const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch'];

interface Layer {
  route?: { path: string | string[]; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
  rawPath?: unknown;
}

/** `METHOD /path/{param}` for every route in an express 5 router stack, mounted routers included. */
function servedRoutes(stack: Layer[], prefix = ''): string[] {
  return stack.flatMap((layer) => {
    if (layer.route) {
      const paths = ([] as string[]).concat(layer.route.path);
      return paths.flatMap((p) =>
        Object.keys(layer.route!.methods).filter((m) => m !== '_all').map((m) => `${m.toUpperCase()} ${openApiPath(prefix + p)}`),
      );
    }
    if (!layer.handle?.stack) return [];
    if (typeof layer.rawPath !== 'string') throw new Error(`a router mounted on a non-string path: ${String(layer.rawPath)}`);
    return servedRoutes(layer.handle.stack, prefix + (layer.rawPath === '/' ? '' : layer.rawPath));
  });
}

const openApiPath = (p: string) => (p.length > 1 ? p.replace(/\/$/, '') : p).replace(/:(\w+)/g, '{$1}');

function documentedRoutes(doc: any): string[] {
  return Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([path, item]) =>
    Object.keys(item).filter((k) => HTTP_METHODS.includes(k)).map((m) => `${m.toUpperCase()} ${path}`),
  );
}

let system: TestSystem;
let infra: Infrastructure;
let app: Express;

beforeAll(async () => {
  system = await startSystem({ workers: false });
  // A second web process from the same composition root (its own connections and registry), read without listening.
  infra = createInfrastructure(system.config, 'web');
  app = (await createWebProcess(infra)).app;
}, 60_000);
afterAll(async () => {
  await infra?.close();
  await system?.close();
});

describe('the OpenAPI document', () => {
  const doc = openApiDocument() as any;

  it('is OpenAPI 3.1 shaped, with responses on every operation and resolvable references', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info).toMatchObject({ title: expect.any(String), version: expect.any(String) });
    expect(Object.keys(doc.components.securitySchemes)).toEqual(['shopKey', 'adminBasic', 'metricsToken']);
    for (const [path, item] of Object.entries<any>(doc.paths)) {
      for (const method of HTTP_METHODS.filter((m) => item[m])) {
        const op = item[method];
        expect(Object.keys(op.responses ?? {}).length, `${method} ${path}`).toBeGreaterThan(0);
        expect(op.operationId, `${method} ${path}`).toEqual(expect.any(String));
        const params = [...(item.parameters ?? []), ...(op.parameters ?? [])].map((p: any) => (p.$ref ? resolve(doc, p.$ref) : p));
        for (const name of path.match(/\{(\w+)\}/g) ?? []) {
          expect(params.some((p: any) => p.in === 'path' && `{${p.name}}` === name), `${method} ${path} declares ${name}`).toBe(true);
        }
      }
    }
    for (const r of JSON.stringify(doc).match(/"\$ref":"[^"]+"/g) ?? []) expect(resolve(doc, JSON.parse(`{${r}}`).$ref), r).toBeDefined();
  });

  it('documents the errors of the contract as problem+json', () => {
    const submit = doc.paths['/v1/orders'].post;
    expect(Object.keys(submit.responses).sort()).toEqual(['202', '400', '401', '404', '409', '413', '415', '429', '503']);
    expect(submit.parameters).toContainEqual({ $ref: '#/components/parameters/IdempotencyKey' });
    expect(doc.components.responses.Error503.headers['Retry-After']).toBeDefined();
    expect(doc.components.responses.Error429.headers['Retry-After']).toBeDefined();
    expect(doc.components.responses.Error400.content['application/problem+json'].schema).toEqual({ $ref: '#/components/schemas/Problem' });
    expect(doc.paths['/v1/admin/shops'].post.security).toEqual([{ adminBasic: [] }]);
    expect(doc.paths['/healthz'].get.security).toEqual([]);
  });

  it('derives request bodies from the zod schemas', () => {
    const order = doc.components.schemas.OrderInput;
    expect(order.required).toEqual(expect.arrayContaining(['currency', 'items', 'customer', 'shippingAddress', 'payment']));
    expect(order.additionalProperties).toBe(false);
    expect(order.properties.items.items.properties.quantity).toMatchObject({ type: 'integer', minimum: 1 });
    const payment = resolve(doc, order.properties.payment.$ref) as any;
    expect(payment.properties.method.enum).toEqual(['alipay', 'wechat_pay', 'paypal', 'card']);
    expect(Object.keys(payment.properties)).toEqual(['method', 'flow', 'token', 'payer', 'returnUrl']);
    expect(order.$schema).toBeUndefined();
    expect(doc.paths['/v1/orders/{id}/payment'].post.requestBody.content['application/json'].schema).toEqual(order.properties.payment);
  });

  it('states the payment rules the API enforces, and the payment as an order shows it', () => {
    const rules = doc.components.schemas.PaymentInput.allOf as any[];
    const ifMethod = (m: string) => rules.find((r) => r.if.properties.method?.const === m);
    expect(ifMethod('card').then).toEqual({ properties: { flow: { enum: ['token'] } }, required: ['token'] });
    expect(ifMethod('alipay').then.properties.flow.enum).toEqual(['qr', 'redirect', 'barcode']);
    expect(rules.find((r) => r.if.properties.flow?.enum?.includes('jsapi') && r.if.properties.flow.enum.length === 1).then)
      .toEqual({ required: ['payer'], properties: { payer: { required: ['openid'] } } });
    const view = doc.components.schemas.Payment;
    expect(Object.keys(view.properties)).toEqual(expect.arrayContaining(['flow', 'status', 'action', 'expiresAt', 'events']));
    expect(doc.components.schemas.PaymentStatus.enum).toContain('action_required');
    expect(doc.components.schemas.PaymentAction.oneOf).toHaveLength(3);
    expect(Object.keys(doc.webhooks)).toContain('order.payment_action_required');
    expect(doc.components.schemas.ShopUpdate.properties.merchants).toEqual({ $ref: '#/components/schemas/Merchants' });
  });
});

describe('contract drift', () => {
  it('every public route the app serves is documented, and every documented route is served', () => {
    const served = new Set(servedRoutes((app as any).router.stack).filter((r) => PUBLIC(r.split(' ')[1]!)));
    const documented = documentedRoutes(openApiDocument());
    expect(served.size).toBeGreaterThan(8);
    expect([...served].filter((r) => !documented.includes(r)), 'served but not documented').toEqual([]);
    expect(documented.filter((r) => !served.has(r)), 'documented but not served').toEqual([]);
  });

  it('GET /openapi.json answers the document as JSON without credentials', async () => {
    const probe = express().use(openApiRouter());
    const server = probe.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    try {
      const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/openapi.json`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(await res.json()).toEqual(JSON.parse(JSON.stringify(openApiDocument())));
    } finally {
      await new Promise((r) => server.close(r));
    }
    // And the web process itself serves it, without credentials.
    const real = await fetch(`${system.base}/openapi.json`);
    expect([real.status, real.headers.get('content-type')]).toEqual([200, expect.stringMatching(/^application\/json/)]);
    expect(await real.json()).toEqual(JSON.parse(JSON.stringify(openApiDocument())));
  });
});

function resolve(doc: any, ref: string): unknown {
  return ref.replace(/^#\//, '').split('/').reduce((node: any, key) => node?.[key.replaceAll('~1', '/').replaceAll('~0', '~')], doc);
}
