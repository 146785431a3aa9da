import { z } from 'zod';
import { CARRIERS, SHIPMENT_STATUSES } from '../domain/carrier.js';
import { ORDER_STATUSES, PAYMENT_METHODS } from '../domain/order.js';
import { idempotencyKeySchema, orderInputSchema, productInputSchema } from '../domain/order-input.js';

/**
 * The `components` of the OpenAPI document. Request bodies the domain already validates with zod are
 * derived from those schemas, so the document cannot drift from what the API accepts; the rest (output
 * shapes, the inputs parsed inside route files) are written here, after src/http/views.ts and the routes.
 */

type Schema = Record<string, unknown>;

/** JSON Schema 2020-12 (OpenAPI 3.1's dialect) of what a client sends; `$schema` is implied by the document. */
function fromZod(schema: z.ZodType): Schema {
  const { $schema: _, ...json } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Schema;
  return json;
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const str = (extra: Schema = {}) => ({ type: 'string', ...extra });
const int = (extra: Schema = {}) => ({ type: 'integer', ...extra });
const nullable = (s: Schema) => ({ ...s, type: [s.type, 'null'] });
const dateTime = str({ format: 'date-time' });
const uuid = str({ format: 'uuid' });
const minor = int({ minimum: 0, description: 'integer minor units (fen, cents)' });
const obj = (properties: Record<string, unknown>, required = Object.keys(properties)) => ({ type: 'object', properties, required });
const page = (item: string) => obj({ data: { type: 'array', items: ref(item) }, nextCursor: nullable(str({ description: 'pass as `cursor` for the next page; null on the last' })) });

const orderInput = fromZod(orderInputSchema);
const propsOf = (schema: Schema) => schema.properties as Record<string, Schema>;

const schemas: Record<string, unknown> = {
  OrderStatus: { enum: [...ORDER_STATUSES] },
  PaymentMethod: { enum: [...PAYMENT_METHODS] },
  Problem: {
    ...obj({
      type: str({ format: 'uri' }),
      title: str(),
      status: int({ minimum: 400, maximum: 599 }),
      detail: str(),
      errors: { type: 'array', items: obj({ path: str({ examples: ['items.0.quantity'] }), message: str() }) },
    }, ['type', 'title', 'status', 'detail']),
    description: 'RFC 9457 problem details; `errors` names each field that failed validation.',
  },
  ShopInput: {
    ...obj({ name: str({ minLength: 1, maxLength: 200 }), webhookUrl: str({ format: 'uri', maxLength: 2000, pattern: '^https?://' }) }, ['name']),
    additionalProperties: false,
  },
  ShopCreated: obj({
    id: uuid, name: str(), webhookUrl: nullable(str({ format: 'uri' })),
    apiKey: str({ description: 'shown once; stored only as a hash' }), webhookSecret: str({ description: 'signs webhooks (Orderworks-Signature)' }),
  }),
  ProductInput: fromZod(productInputSchema),
  Product: obj({ sku: str(), name: str(), priceMinor: minor, currency: str({ pattern: '^[A-Z]{3}$' }), stock: int({ minimum: 0 }), reserved: int({ minimum: 0 }) }),
  OrderInput: orderInput,
  Order: obj({
    id: uuid,
    externalId: nullable(str()),
    status: ref('OrderStatus'),
    statusReason: nullable(str({ examples: ['out_of_stock', 'unknown_sku', 'currency_mismatch', 'declined'] })),
    currency: str({ pattern: '^[A-Z]{3}$' }),
    totalMinor: nullable(minor),
    items: { type: 'array', items: obj({ sku: str(), quantity: int({ minimum: 1 }), unitPriceMinor: nullable(minor), lineTotalMinor: nullable(minor) }) },
    customer: propsOf(orderInput).customer,
    shippingAddress: propsOf(orderInput).shippingAddress,
    payment: obj({
      method: ref('PaymentMethod'),
      status: { enum: ['pending', 'captured', 'failed', 'partially_refunded', 'refunded'] },
      providerReference: nullable(str()),
      capturedMinor: minor,
      refundedMinor: minor,
      attempts: int({ minimum: 0 }),
    }),
    shipments: { type: 'array', items: ref('Shipment') },
    createdAt: dateTime,
    updatedAt: dateTime,
  }),
  OrderPage: page('Order'),
  ShipmentInput: {
    ...obj({
      carrier: { enum: [...CARRIERS] },
      trackingNumber: str({ pattern: '^[A-Za-z0-9-]{4,40}$', examples: ['SBX-1'] }),
      fromCity: str({ minLength: 1, maxLength: 100, description: 'where the parcel leaves from; with the destination, the route delivery estimates learn on' }),
    }, ['carrier', 'trackingNumber']),
    additionalProperties: false,
  },
  Shipment: obj({
    id: uuid,
    carrier: { enum: [...CARRIERS] },
    trackingNumber: str(),
    status: { enum: [...SHIPMENT_STATUSES] },
    estimatedDeliveryAt: nullable(dateTime),
    deliveredAt: nullable(dateTime),
    events: { type: 'array', items: obj({ at: dateTime, status: { enum: [...SHIPMENT_STATUSES] }, description: str(), location: nullable(str()) }) },
  }),
  RefundInput: {
    ...obj({ amountMinor: int({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }), reason: str({ minLength: 1, maxLength: 500 }) }, ['amountMinor']),
    additionalProperties: false,
  },
  Refund: obj({
    id: uuid, orderId: uuid, amountMinor: minor, currency: str(), reason: nullable(str()),
    status: { enum: ['pending', 'succeeded', 'failed'] }, createdAt: dateTime,
  }),
  AdminOrderSummary: obj({
    id: uuid, shopId: uuid, externalId: nullable(str()), status: ref('OrderStatus'), statusReason: nullable(str()),
    currency: str({ pattern: '^[A-Z]{3}$' }), totalMinor: nullable(minor), paymentMethod: ref('PaymentMethod'),
    paymentStatus: str(), createdAt: dateTime, updatedAt: dateTime,
  }),
  AdminOrderPage: page('AdminOrderSummary'),
  OrderJob: obj({
    queue: str({ examples: ['payment-capture'] }), id: str({ examples: ['capture-0b6e…'] }),
    state: str({ examples: ['completed', 'failed', 'delayed', 'waiting', 'active'] }), attemptsMade: int({ minimum: 0 }),
    lastError: nullable(str()), createdAt: nullable(dateTime), finishedAt: nullable(dateTime),
  }),
  AdminOrder: obj({
    order: { allOf: [ref('Order'), obj({ shopId: uuid })] },
    jobs: { type: 'array', items: ref('OrderJob'), description: 'each job the order has in each queue, as Redis holds it' },
  }),
  WebhookDelivery: obj({
    id: uuid, eventId: uuid, eventType: str({ examples: ['order.paid'] }), orderId: uuid, url: str({ format: 'uri' }),
    attempt: int({ minimum: 1 }), statusCode: nullable(int()), error: nullable(str()), durationMs: int({ minimum: 0 }),
    outcome: { enum: ['delivered', 'failed', 'retrying'] }, createdAt: dateTime,
  }),
  WebhookDeliveryPage: page('WebhookDelivery'),
  Redelivery: obj({ eventId: uuid, orderId: uuid, status: { const: 'queued' } }),
  Health: obj({ status: { const: 'ok' } }),
  Readiness: obj({ status: { const: 'ready' }, checks: { type: 'object', additionalProperties: { enum: ['up', 'down'] } } }),
};

const problem = (description: string, headers?: Record<string, unknown>) => ({
  description,
  ...(headers ? { headers } : {}),
  content: { 'application/problem+json': { schema: ref('Problem') } },
});
const retryAfter = { 'Retry-After': { description: 'seconds to wait before retrying', schema: int({ minimum: 0 }) } };

/** One reusable response per error status of docs/api.md section 2. */
export const ERROR_RESPONSES = {
  400: problem('malformed JSON, or fields that fail validation (each named in `errors`)'),
  401: problem('missing or wrong credentials'),
  404: problem('unknown, or not yours'),
  408: problem('the body did not arrive in time'),
  409: problem('conflicting state, or an idempotency key reused with another body'),
  413: problem('body too large'),
  415: problem('body is not JSON'),
  429: problem('rate limited', retryAfter),
  503: problem('a dependency is down', retryAfter),
} as const;
export type ErrorStatus = keyof typeof ERROR_RESPONSES;

export function openApiComponents() {
  return {
    schemas,
    responses: Object.fromEntries(Object.entries(ERROR_RESPONSES).map(([status, r]) => [`Error${status}`, r])),
    securitySchemes: {
      shopKey: { type: 'http', scheme: 'bearer', description: 'a shop API key: `Authorization: Bearer <apiKey>`' },
      adminBasic: { type: 'http', scheme: 'basic', description: 'operator credentials (ADMIN_USER, ADMIN_PASSWORD; ADMIN_VIEWER_* reads)' },
      metricsToken: { type: 'http', scheme: 'bearer', description: 'METRICS_TOKEN, for a Prometheus scraper: /metrics only' },
    },
    parameters: {
      IdempotencyKey: {
        name: 'Idempotency-Key', in: 'header', required: true,
        description: 'the same key with the same body within 24 hours answers the first result; with another body, 409',
        schema: fromZod(idempotencyKeySchema),
      },
      OrderId: { name: 'id', in: 'path', required: true, schema: uuid },
      Limit: { name: 'limit', in: 'query', schema: int({ minimum: 1, maximum: 100, default: 50 }) },
      Cursor: { name: 'cursor', in: 'query', description: 'the `nextCursor` of the previous page', schema: uuid },
    },
  };
}
