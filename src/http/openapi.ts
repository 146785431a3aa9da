import { Router } from 'express';
import { ORDER_EVENT_TYPES } from '../domain/order-lifecycle.js';
import { openApiComponents, problem, type ErrorStatus } from './openapi-schemas.js';

/**
 * The public contract (docs/api.md) as an OpenAPI 3.1 document, served at `GET /openapi.json`.
 * test/integration/openapi.test.ts checks it against the routes the app really serves, both ways.
 */

type Op = Record<string, unknown>;
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const uuidSchema = { type: 'string', format: 'uuid' };
const param = (name: string) => ({ $ref: `#/components/parameters/${name}` });
const json = (schema: string, description: string, headers?: Op) => ({
  description,
  ...(headers ? { headers } : {}),
  content: { 'application/json': { schema: ref(schema) } },
});
const body = (schema: string) => ({ required: true, content: { 'application/json': { schema: ref(schema) } } });
const errors = (...statuses: ErrorStatus[]) =>
  Object.fromEntries(statuses.map((s) => [String(s), { $ref: `#/components/responses/Error${s}` }]));
const location = { Location: { description: 'the order: /v1/orders/{id}', schema: { type: 'string' } } };

/** Every shop call can fail these ways: bad key, an unknown id, over the shop's rate limit, Postgres or Redis down. */
const SHOP_ERRORS: ErrorStatus[] = [401, 404, 429, 503];
/** Operator calls: wrong credentials, and too many wrong ones from one address (429). */
const ADMIN_ERRORS: ErrorStatus[] = [401, 429, 503];
/** ...and, with a JSON body, these. */
const BODY_ERRORS: ErrorStatus[] = [400, 413, 415];
const shop = (op: Op, errs: ErrorStatus[] = []): Op => ({
  security: [{ shopKey: [] }],
  ...op,
  responses: { ...(op.responses as Op), ...errors(...SHOP_ERRORS, ...errs) },
});

function paths(): Record<string, Record<string, unknown>> {
  return {
    '/v1/admin/shops': {
      post: {
        operationId: 'createShop', tags: ['operators'], summary: 'Create a shop and its API key (shown once)',
        security: [{ adminBasic: [] }], requestBody: body('ShopInput'),
        responses: { 201: json('ShopCreated', 'the shop, its API key and webhook secret'), ...errors(400, 413, 415, ...ADMIN_ERRORS) },
      },
    },
    '/v1/admin/shops/{id}': {
      parameters: [{ name: 'id', in: 'path', required: true, schema: uuidSchema }],
      patch: {
        operationId: 'updateShop', tags: ['operators'],
        summary: 'Change a shop: name, webhook URL, its own merchant accounts (`merchants`); the fields sent are replaced, the others kept',
        security: [{ adminBasic: [] }], requestBody: body('ShopUpdate'),
        responses: { 200: json('Shop', 'the shop as it now is (no API key, no webhook secret)'), ...errors(400, 404, 413, 415, ...ADMIN_ERRORS) },
      },
    },
    '/v1/admin/orders': {
      get: {
        operationId: 'adminSearchOrders', tags: ['operators'], summary: 'Any shop\'s orders, newest first: by shop, status, order id or externalId',
        security: [{ adminBasic: [] }],
        parameters: [
          { name: 'shopId', in: 'query', schema: uuidSchema }, { name: 'status', in: 'query', schema: ref('OrderStatus') },
          { name: 'q', in: 'query', description: 'an order id or an externalId', schema: { type: 'string', minLength: 1, maxLength: 255 } },
          param('Limit'), param('Cursor'),
        ],
        responses: { 200: json('AdminOrderPage', 'one page of orders'), ...errors(400, ...ADMIN_ERRORS) },
      },
    },
    '/v1/admin/orders/{id}': {
      parameters: [param('OrderId')],
      get: {
        operationId: 'adminGetOrder', tags: ['operators'], summary: 'An order of any shop with the state and last error of each of its jobs',
        security: [{ adminBasic: [] }],
        responses: { 200: json('AdminOrder', 'the order and its jobs'), ...errors(404, ...ADMIN_ERRORS) },
      },
    },
    '/v1/products/{sku}': {
      parameters: [{ name: 'sku', in: 'path', required: true, schema: { type: 'string', minLength: 1, maxLength: 100 } }],
      put: shop({
        operationId: 'putProduct', tags: ['products'], summary: 'Create or replace a product and its stock', requestBody: body('ProductInput'),
        responses: { 200: json('Product', 'updated'), 201: json('Product', 'created') },
      }, BODY_ERRORS),
      get: shop({ operationId: 'getProduct', tags: ['products'], summary: 'A product, its sellable stock and reserved units', responses: { 200: json('Product', 'the product') } }),
    },
    '/v1/orders': {
      post: shop({
        operationId: 'submitOrder', tags: ['orders'], summary: 'Submit an order: stored before the 202, never lost afterwards',
        parameters: [param('IdempotencyKey')], requestBody: body('OrderInput'),
        responses: { 202: json('Order', 'accepted (status `received`), or the order this key already created', location) },
      }, [...BODY_ERRORS, 409]),
      get: shop({
        operationId: 'listOrders', tags: ['orders'], summary: 'The shop\'s orders, newest first',
        parameters: [{ name: 'status', in: 'query', schema: ref('OrderStatus') }, param('Limit'), param('Cursor')],
        responses: { 200: json('OrderPage', 'one page of orders') },
      }, [400]),
    },
    '/v1/orders/{id}': {
      parameters: [param('OrderId')],
      get: shop({ operationId: 'getOrder', tags: ['orders'], summary: 'An order with its payment and shipments', responses: { 200: json('Order', 'the order') } }),
    },
    '/v1/orders/{id}/payment': {
      parameters: [param('OrderId')],
      post: shop({
        operationId: 'changePayment', tags: ['orders'],
        summary: 'The buyer picks another way to pay while the order is `placed` and unpaid: the previous trade is closed at the provider first',
        parameters: [param('IdempotencyKey')], requestBody: body('PaymentInput'),
        responses: { 202: json('Order', 'accepted: the order, its payment `pending` until the new trade answers (then `action_required` or paid)') },
      }, [...BODY_ERRORS, 409]),
    },
    '/v1/orders/{id}/cancel': {
      parameters: [param('OrderId')],
      post: shop({
        operationId: 'cancelOrder', tags: ['orders'], summary: 'Cancel before shipment: stock released, a captured payment refunded',
        responses: { 202: json('Order', 'cancellation accepted') },
      }, [409]),
    },
    '/v1/orders/{id}/refunds': {
      parameters: [param('OrderId')],
      post: shop({
        operationId: 'refundOrder', tags: ['orders'], summary: 'Refund part or all of the captured amount',
        parameters: [param('IdempotencyKey')], requestBody: body('RefundInput'),
        responses: { 202: json('Refund', 'refund accepted') },
      }, [...BODY_ERRORS, 409]),
    },
    '/v1/orders/{id}/shipments': {
      parameters: [param('OrderId')],
      post: shop({
        operationId: 'shipOrder', tags: ['shipments'], summary: 'Ship a paid order; tracking starts at once', requestBody: body('ShipmentInput'),
        responses: {
          200: json('Shipment', 'this tracking number was already registered (answered even at a limit)', location),
          201: json('Shipment', 'created', location),
          409: problem(
            'the order is not paid, or the carrier is not configured on this deployment; or a limit is reached (type ' +
              '`https://orderworks.dev/problems/limit-reached`, `detail` names the limit and its value): the order has ' +
              'SHIPMENTS_PER_ORDER_MAX shipments (default 20), or the shop has OPEN_SHIPMENTS_PER_SHOP_MAX shipments not yet ' +
              'delivered or returned (default 100000; a place frees when one of them ends)',
          ),
        },
      }, BODY_ERRORS),
    },
    '/v1/orders/{id}/returns': {
      parameters: [param('OrderId')],
      post: shop({
        operationId: 'requestReturn', tags: ['returns'],
        summary: 'Goods coming back from a shipped or delivered order: refunded (and restocked when asked) once received',
        parameters: [param('IdempotencyKey')], requestBody: body('ReturnInput'),
        responses: { 200: json('Return', 'the return this key already created', location), 201: json('Return', 'created, `requested`', location) },
      }, [...BODY_ERRORS, 409]),
    },
    '/v1/returns/{id}': {
      parameters: [param('ReturnId')],
      get: shop({ operationId: 'getReturn', tags: ['returns'], summary: 'A return, its refund and its parcel', responses: { 200: json('Return', 'the return') } }),
    },
    '/v1/returns/{id}/receive': {
      parameters: [param('ReturnId')],
      post: shop({
        operationId: 'receiveReturn', tags: ['returns'],
        summary: 'The shop has the goods back: `received` once, its lines refunded (never above captured minus refunded), restocked when asked',
        responses: {
          200: json('Return', 'received (or already received: nothing happens twice)'),
          409: problem('the return is cancelled'),
        },
      }),
    },
    '/v1/returns/{id}/cancel': {
      parameters: [param('ReturnId')],
      post: shop({
        operationId: 'cancelReturn', tags: ['returns'],
        summary: 'The return will not come back (the buyer changed their mind, or the shop refuses it): `cancelled` while `requested`; ' +
          'its lines may be returned again, its parcel is no longer followed and its delivery receives nothing',
        requestBody: { required: false, content: { 'application/json': { schema: { $ref: '#/components/schemas/ReturnCancelInput' } } } },
        responses: {
          200: json('Return', 'cancelled (or already cancelled: answered as it is)'),
          409: problem('the return is not `requested` (`detail` names its status): a received return cannot be cancelled'),
        },
      }, BODY_ERRORS),
    },
    '/v1/shipments': {
      get: shop({
        operationId: 'listDelayedShipments', tags: ['shipments'],
        summary: 'The shop\'s late parcels (past their estimate, or no carrier news for too long), oldest delay first',
        parameters: [
          { name: 'delayed', in: 'query', required: true, description: 'Only `true`: the late parcels', schema: { type: 'string', enum: ['true'] } },
          param('Limit'), param('DelayedCursor'),
        ],
        responses: { 200: json('DelayedShipmentPage', 'one page of late parcels') },
      }, [400]),
    },
    '/v1/webhook-deliveries': {
      get: shop({
        operationId: 'listWebhookDeliveries', tags: ['webhooks'], summary: 'The shop\'s webhook delivery attempts, newest first',
        parameters: [param('Limit'), param('Cursor'), { name: 'eventId', in: 'query', schema: { type: 'string', format: 'uuid' } }],
        responses: { 200: json('WebhookDeliveryPage', 'one page of delivery attempts') },
      }, [400]),
    },
    '/v1/webhook-deliveries/{id}/redeliver': {
      parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } }],
      post: shop({ operationId: 'redeliverWebhook', tags: ['webhooks'], summary: 'Send a delivery\'s event once more', responses: { 202: json('Redelivery', 'queued') } }),
    },
    '/v1/payments/notify/{method}': {
      parameters: [{ name: 'method', in: 'path', required: true, schema: ref('PaymentMethod') }],
      post: {
        operationId: 'paymentNotification', tags: ['providers'],
        summary: 'A payment provider\'s notification, in its own wire format; authenticated by its signature over the raw body',
        security: [],
        requestBody: { required: true, content: { '*/*': { schema: { type: 'string', format: 'binary' } } } },
        responses: {
          200: { description: 'the acknowledgement the provider expects (its own format)', content: { '*/*': { schema: { type: 'string' } } } },
          ...errors(400, 404, 408, 413, 415, 429, 503),
        },
      },
    },
    '/v1/carriers/kuaidi100/notify': {
      post: {
        operationId: 'kuaidi100Push', tags: ['providers'],
        summary: 'Kuaidi100\'s push of a subscribed waybill\'s news (form `param`, `sign` = UPPER(MD5(param + salt))); 404 where push tracking is off',
        security: [],
        requestBody: { required: true, content: { 'application/x-www-form-urlencoded': { schema: ref('Kuaidi100Push') } } },
        responses: {
          200: json('Kuaidi100PushAnswer', 'received: `{"result":true,"returnCode":"200","message":"成功"}`, the only answer Kuaidi100 counts as received'),
          400: json('Kuaidi100PushAnswer', 'refused (a missing or wrong sign, not a push): `result` false; nothing changed'),
          ...errors(404, 408, 413, 415, 429, 503),
        },
      },
    },
    '/healthz': {
      get: { operationId: 'health', tags: ['health'], summary: 'The process lives', security: [], responses: { 200: json('Health', 'alive') } },
    },
    '/readyz': {
      get: {
        operationId: 'ready', tags: ['health'], summary: 'Postgres and Redis answer', security: [],
        responses: { 200: json('Readiness', 'ready'), ...errors(503) },
      },
    },
    '/metrics': {
      get: {
        operationId: 'metrics', tags: ['health'], summary: 'Prometheus metrics',
        security: [{ adminBasic: [] }, { metricsToken: [] }],
        responses: {
          200: { description: 'Prometheus text exposition format', content: { 'text/plain': { schema: { type: 'string' } } } },
          ...errors(401, 429),
        },
      },
    },
    '/openapi.json': {
      get: {
        operationId: 'openApi', tags: ['health'], summary: 'This document', security: [],
        responses: { 200: { description: 'OpenAPI 3.1', content: { 'application/json': { schema: { type: 'object' } } } } },
      },
    },
  };
}

/** What orderworks sends a shop's `webhookUrl`: one entry per event type (docs/api.md section 8). */
function webhooks(): Record<string, unknown> {
  const signature = {
    name: 'Orderworks-Signature', in: 'header', required: true, schema: { type: 'string', examples: ['t=1700000000,v1=5257a869…'] },
    description: '`t=<unix seconds>,v1=<hex HMAC-SHA256(webhookSecret, "<t>.<raw body>")>`',
  };
  return Object.fromEntries(ORDER_EVENT_TYPES.map((type) => [type, {
    post: {
      operationId: `webhook_${type.replace('.', '_')}`, tags: ['webhooks'],
      summary: `\`${type}\` to the shop's webhookUrl: at least once (drop duplicates by \`id\`), in order per order, retried for at least 24 hours`,
      parameters: [signature],
      requestBody: {
        required: true,
        content: { 'application/json': { schema: { allOf: [ref('WebhookEvent'), { type: 'object', properties: { type: { const: type } } }] } } },
      },
      responses: { '2XX': { description: 'received; anything else (or no answer within 5 s) is retried with backoff' } },
    },
  }]));
}

let built: object | undefined;

/** The document, built once (it depends on nothing at run time). */
export function openApiDocument(): object {
  built ??= Object.freeze({
    openapi: '3.1.0',
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    info: {
      title: 'orderworks',
      version: '1',
      description: 'The order pipeline behind online shops. Money is integer minor units with an ISO 4217 currency; every error is application/problem+json.',
    },
    servers: [{ url: '/' }],
    security: [{ shopKey: [] }],
    paths: paths(),
    webhooks: webhooks(),
    components: openApiComponents(),
  });
  return built;
}

/** `GET /openapi.json`: public, no credentials (it documents the API, not any shop's data). */
export function openApiRouter(): Router {
  const r = Router();
  const text = JSON.stringify(openApiDocument());
  r.get('/openapi.json', (_req, res) => void res.type('application/json').send(text));
  return r;
}

