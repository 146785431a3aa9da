import { z } from 'zod';
import { CARRIERS, SHIPMENT_STATUSES } from '../domain/carrier.js';
import { chargesAtOnce, FLOWS_OF, ORDER_STATUSES, PAYMENT_FLOWS, PAYMENT_METHODS } from '../domain/order.js';
import { ORDER_EVENT_TYPES, PAYMENT_STATUSES, RETURN_STATUSES } from '../domain/order-lifecycle.js';
import { idempotencyKeySchema, orderInputSchema, paymentInputSchema, productInputSchema } from '../domain/order-input.js';
import { merchantsSchema } from '../domain/shop-input.js';
import { returnCancelSchema, returnInputSchema } from '../domain/return-input.js';

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

const propsOf = (schema: Schema) => schema.properties as Record<string, Schema>;

/**
 * The rules zod checks in code (paymentInputSchema's transform), as JSON Schema conditionals built from the same
 * tables (FLOWS_OF, chargesAtOnce), so a client's validator refuses what the API refuses.
 */
function paymentInput(): Schema {
  const base = fromZod(paymentInputSchema);
  const p = propsOf(base);
  const atOnce = PAYMENT_FLOWS.filter(chargesAtOnce);
  const buyerDriven = PAYMENT_FLOWS.filter((f) => !chargesAtOnce(f));
  const whenFlow = (flows: readonly string[], then: Schema) => ({ if: { required: ['flow'], properties: { flow: { enum: [...flows] } } }, then });
  return {
    ...base,
    description:
      'How the buyer pays (docs/api.md section 6). Without `flow`: a body with `token` means `barcode` for the wallets and `token` for ' +
      'PayPal and card; without either, the method\'s default (the first of its flows). `token` is required by `barcode` and `token`, and ' +
      'refused by the buyer-driven flows (`qr`, `redirect`, `jsapi`, `h5`), whose buyer pays through `payment.action`.',
    properties: {
      ...p,
      method: { ...p.method, description: 'alipay: qr (default), redirect, barcode; wechat_pay: qr (default), jsapi, h5, barcode; paypal: redirect (default), token; card: token' },
      flow: { ...p.flow, description: 'how the buyer pays; each method takes only its own flows' },
      token: { ...p.token, description: '`barcode`: the buyer\'s payment code; `token`: an approved PayPal order id or a card payment-method token. Sandbox scripts: tok_ok, tok_decline, tok_flaky, tok_timeout, tok_3ds (card), tok_pending (barcode)' },
      payer: {
        ...p.payer,
        description: 'about the buyer, for the flows that need it',
        properties: {
          ...propsOf(p.payer!),
          openid: { ...propsOf(p.payer!).openid, description: 'the buyer\'s WeChat openid under the merchant\'s app: required by wechat_pay jsapi' },
          device: { ...propsOf(p.payer!).device, description: 'alipay redirect: `mobile` opens the WAP page (alipay.trade.wap.pay), else the desktop one' },
          clientIp: { ...propsOf(p.payer!).clientIp, description: 'the buyer\'s IP address, which WeChat H5 asks for' },
        },
      },
      returnUrl: { ...p.returnUrl, description: 'where the provider sends the buyer back after a redirect or 3-D Secure' },
    },
    allOf: [
      ...PAYMENT_METHODS.map((m) => ({
        if: { properties: { method: { const: m } } },
        then: { properties: { flow: { enum: [...FLOWS_OF[m]] } }, ...(FLOWS_OF[m].every(chargesAtOnce) ? { required: ['token'] } : {}) },
      })),
      whenFlow(atOnce, { required: ['token'] }),
      whenFlow(buyerDriven, { not: { required: ['token'] } }),
      whenFlow(['jsapi'], { required: ['payer'], properties: { payer: { required: ['openid'] } } }),
    ],
    examples: [{ method: 'alipay', flow: 'qr' }, { method: 'wechat_pay', flow: 'jsapi', payer: { openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o' } }, { method: 'card', token: 'tok_ok' }],
  };
}

/** What every view of a shipment shows. */
const SHIPMENT_FIELDS = {
  id: uuid,
  carrier: { enum: [...CARRIERS] },
  trackingNumber: str(),
  status: { enum: [...SHIPMENT_STATUSES] },
  estimatedDeliveryAt: nullable(dateTime),
  deliveredAt: nullable(dateTime),
  trackingEndedAt: nullable({ ...dateTime, description: 'when orderworks stopped following the parcel (an `exception` given up after 14 days without news, or its return cancelled); null while it is followed' }),
};

/** The contract's own order example (docs/api.md section 5); a unit test checks that it parses. */
export const ORDER_EXAMPLE = {
  externalId: 'shop-ref-1001',
  currency: 'CNY',
  items: [{ sku: 'TEA-001', quantity: 2 }],
  customer: { name: 'Li Lei', email: 'li@example.com', phone: '+8613800000000' },
  shippingAddress: { name: 'Li Lei', line1: '1 Nanjing Rd', city: 'Shanghai', postalCode: '200001', country: 'CN' },
  payment: { method: 'alipay', flow: 'qr' },
};
const orderInput = (() => {
  const base = fromZod(orderInputSchema);
  return { ...base, properties: { ...propsOf(base), payment: ref('PaymentInput') }, examples: [ORDER_EXAMPLE] };
})();

/** A shop's own merchant account per method (docs/api.md section 6): its money goes there through the provider's partner mode. */
const merchants = {
  ...fromZod(merchantsSchema),
  description: 'per-shop merchant accounts; a method without one is charged through the platform\'s own account',
  examples: [{ wechat_pay: { subMchid: '1900000109' }, alipay: { appAuthToken: '201510BBaabdb44d8fd04607abf8d5931ec75D84' } }],
};
const shopFields = { name: str({ minLength: 1, maxLength: 200 }), webhookUrl: str({ format: 'uri', maxLength: 2000, pattern: '^https?://' }), merchants: ref('Merchants') };

const actionOf = (type: string, fields: Record<string, unknown>, description: string) => ({ ...obj({ type: { const: type }, ...fields }), description });

const schemas: Record<string, unknown> = {
  OrderStatus: { enum: [...ORDER_STATUSES] },
  PaymentMethod: { enum: [...PAYMENT_METHODS] },
  PaymentFlow: { enum: [...PAYMENT_FLOWS], description: '`barcode` and `token` charge at once; `qr`, `redirect`, `jsapi` and `h5` wait for the buyer' },
  PaymentStatus: { enum: [...PAYMENT_STATUSES], description: '`action_required`: the trade is open at the provider and waits for the buyer (see `payment.action`)' },
  PaymentInput: paymentInput(),
  PaymentAction: {
    oneOf: [ref('QrCodeAction'), ref('RedirectAction'), ref('JsapiAction')],
    discriminator: { propertyName: 'type', mapping: { qr_code: '#/components/schemas/QrCodeAction', redirect: '#/components/schemas/RedirectAction', jsapi: '#/components/schemas/JsapiAction' } },
    description: 'what the shop shows its buyer while the payment is `action_required`; in the sandbox each leads to `/sandbox/checkout/{tradeRef}`',
  },
  QrCodeAction: actionOf('qr_code', { qrContent: str({ description: 'encode it as a QR code for the buyer to scan (Alipay precreate, WeChat Native code_url)' }) }, 'show a QR code'),
  RedirectAction: actionOf('redirect', { url: str({ format: 'uri', description: 'send the buyer there (Alipay page/WAP pay, WeChat H5, PayPal approve link, card 3-D Secure)' }) }, 'send the buyer to a page'),
  JsapiAction: actionOf('jsapi', {
    params: {
      ...obj(Object.fromEntries(['appId', 'timeStamp', 'nonceStr', 'package', 'signType', 'paySign'].map((k) => [k, str()]))),
      description: 'pass to WeixinJSBridge `getBrandWCPayRequest` in the buyer\'s WeChat; `package` is `prepay_id=<tradeRef>`',
    },
  }, 'start WeChat Pay inside WeChat (JSAPI)'),
  PaymentEvent: obj({
    at: dateTime,
    type: str({ examples: ['action_required', 'captured', 'payment_timeout', 'payment_amount_mismatch', 'refunding'] }),
    detail: nullable(str()),
  }),
  Payment: obj({
    method: ref('PaymentMethod'),
    flow: ref('PaymentFlow'),
    status: ref('PaymentStatus'),
    action: { anyOf: [ref('PaymentAction'), { type: 'null' }], description: 'set while `status` is `action_required`, else null' },
    expiresAt: nullable(str({ format: 'date-time', description: 'the end of the stock hold while the order waits for its payment; at it the trade is closed at the provider' })),
    providerReference: nullable(str()),
    capturedMinor: minor,
    refundedMinor: minor,
    attempts: int({ minimum: 0 }),
    events: { type: 'array', items: ref('PaymentEvent'), description: 'what happened to the payment, oldest first (why money was refunded, why it failed)' },
  }),
  Merchants: merchants,
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
  ShopInput: { ...obj(shopFields, ['name']), additionalProperties: false, examples: [{ name: 'Acme', webhookUrl: 'https://acme.example/hooks/orderworks' }] },
  ShopUpdate: { ...obj(shopFields, []), additionalProperties: false, minProperties: 1, examples: [{ merchants: { wechat_pay: { subMchid: '1900000109' } } }] },
  ShopCreated: obj({
    id: uuid, name: str(), webhookUrl: nullable(str({ format: 'uri' })),
    apiKey: str({ description: 'shown once; stored only as a hash' }), webhookSecret: str({ description: 'signs webhooks (Orderworks-Signature)' }),
  }),
  Shop: obj({ id: uuid, name: str(), webhookUrl: nullable(str({ format: 'uri' })), merchants: ref('Merchants') }),
  ProductInput: fromZod(productInputSchema),
  Product: obj({ sku: str(), name: str(), priceMinor: minor, currency: str({ pattern: '^[A-Z]{3}$' }), stock: int({ minimum: 0 }), reserved: int({ minimum: 0 }) }),
  OrderInput: orderInput,
  Order: obj({
    id: uuid,
    externalId: nullable(str()),
    status: ref('OrderStatus'),
    statusReason: nullable(str({
      examples: ['out_of_stock', 'unknown_sku', 'currency_mismatch', 'payment_declined', 'payment_timeout', 'payment_amount_mismatch',
        'payment_currency_mismatch', 'payment_merchant_mismatch', 'payment_retries_exhausted'],
    })),
    currency: str({ pattern: '^[A-Z]{3}$' }),
    totalMinor: nullable(minor),
    items: { type: 'array', items: obj({ sku: str(), quantity: int({ minimum: 1 }), unitPriceMinor: nullable(minor), lineTotalMinor: nullable(minor) }) },
    customer: propsOf(orderInput).customer,
    shippingAddress: propsOf(orderInput).shippingAddress,
    payment: ref('Payment'),
    shipments: { type: 'array', items: ref('Shipment'), description: 'the parcels sent to the buyer (a return\'s parcel is under its return)' },
    returns: { type: 'array', items: ref('Return'), description: 'goods sent back, oldest first (docs/api.md section 7a)' },
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
    ...SHIPMENT_FIELDS,
    delayed: { type: 'boolean' },
    delayedSince: nullable(dateTime),
    events: { type: 'array', items: obj({ at: dateTime, status: { enum: [...SHIPMENT_STATUSES] }, description: str(), location: nullable(str()) }) },
  }),
  DelayedShipment: obj({ ...SHIPMENT_FIELDS, orderId: uuid, delayed: { type: 'boolean', const: true }, delayedSince: dateTime }),
  DelayedShipmentPage: page('DelayedShipment'),
  ReturnInput: {
    ...fromZod(returnInputSchema),
    description: 'Goods the buyer sends back. `carrier` and `trackingNumber` go together: with them the parcel is followed and its delivery receives the return. The tracking number of a cancelled return of the same order may be given: this return takes that parcel over.',
    examples: [{ items: [{ sku: 'TEA-1', quantity: 1 }], reason: 'arrived broken', restock: false, carrier: 'sandbox', trackingNumber: 'SBX-BACK-1' }],
  },
  ReturnCancelInput: { ...fromZod(returnCancelSchema), description: 'Optional: why the return is cancelled.', examples: [{ reason: 'the buyer kept the goods' }] },
  Return: obj({
    id: uuid, orderId: uuid, status: { enum: [...RETURN_STATUSES] }, reason: str(), restock: { type: 'boolean' },
    items: { type: 'array', items: obj({ sku: str(), quantity: int({ minimum: 1 }), unitPriceMinor: minor }) },
    amountMinor: { ...minor, description: 'the returned lines\' value as sold; the refund is this, capped at what is left of the capture' },
    currency: str({ pattern: '^[A-Z]{3}$' }),
    refund: nullable({ ...obj({ id: uuid, amountMinor: minor, status: { enum: ['pending', 'succeeded', 'failed'] } }), description: 'made when the return is received; null before, or when nothing was left to refund' }),
    parcel: nullable({ ...obj({ ...SHIPMENT_FIELDS }), description: 'the parcel coming back, followed like a shipment; null without one, or once a later return took over the parcel of this cancelled one' }),
    receivedBy: nullable(str({ enum: ['parcel', 'shop'] })),
    receivedAt: nullable(dateTime),
    cancelledAt: nullable(dateTime),
    cancelReason: nullable(str({ description: 'the reason given when it was cancelled' })),
    createdAt: dateTime,
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
    name: str({ description: 'what the job does and for whom', examples: ['charge order 0b6e… (or follow its buyer\'s trade)'] }),
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
  WebhookEventType: { enum: [...ORDER_EVENT_TYPES] },
  WebhookEvent: obj({
    id: uuid, type: ref('WebhookEventType'), createdAt: dateTime,
    data: obj({ order: ref('Order') }),
  }),
  Redelivery: obj({ eventId: uuid, orderId: uuid, status: { const: 'queued' } }),
  Kuaidi100Push: obj({
    param: str({ description: 'JSON: `{ status (polling|shutdown|abort|updateall), message, comNew?, lastResult: { state, com, nu, data[] } }`' }),
    sign: str({ pattern: '^[0-9A-Fa-f]{32}$', description: 'UPPER(hex MD5(param + KUAIDI100_PUSH_SALT))' }),
  }),
  Kuaidi100PushAnswer: obj({ result: { type: 'boolean' }, returnCode: str({ examples: ['200'] }), message: str() }),
  Health: obj({ status: { const: 'ok' } }),
  Readiness: obj({ status: { const: 'ready' }, checks: { type: 'object', additionalProperties: { enum: ['up', 'down'] } } }),
};

/** A problem+json answer; an operation whose error needs its own description uses it instead of the shared one. */
export const problem = (description: string, headers?: Record<string, unknown>) => ({
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
      ReturnId: { name: 'id', in: 'path', required: true, schema: uuid },
      Limit: { name: 'limit', in: 'query', schema: int({ minimum: 1, maximum: 100, default: 50 }) },
      Cursor: { name: 'cursor', in: 'query', description: 'the `nextCursor` of the previous page', schema: uuid },
      DelayedCursor: {
        name: 'cursor', in: 'query', description: 'the `nextCursor` of the previous page, as given (opaque; 400 for one this API did not give)',
        schema: str({ maxLength: 96, pattern: '^[A-Za-z0-9_-]+$' }),
      },
    },
  };
}
