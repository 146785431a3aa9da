import { z } from 'zod';
import { chargesAtOnce, FLOWS_OF, PAYMENT_FLOWS, PAYMENT_METHODS } from './order.js';

/** What a shop may send to `POST /v1/orders`. Unknown fields are refused, so a typo is an error, not a silent no-op. */

const KNOWN_CURRENCIES = new Set(Intl.supportedValuesOf('currency'));
export const currencySchema = z
  .string()
  .regex(/^[A-Z]{3}$/, { error: 'must be an ISO 4217 code such as CNY', abort: true })
  .refine((c) => KNOWN_CURRENCIES.has(c), 'is not an ISO 4217 currency');

/**
 * Text Postgres can store as sent: no NUL (text cannot hold it) and well-formed Unicode (a lone surrogate is
 * refused by jsonb and silently replaced in text). No name or reference needs either: refused, never altered.
 */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
export const storableText = (v: string) => !v.includes('\u0000') && !LONE_SURROGATE.test(v);
const STORABLE = 'must not contain NUL characters or unpaired surrogates';
export const text = (max: number) =>
  z.string().trim().min(1, 'must not be empty').max(max, `must be at most ${max} characters`).refine(storableText, STORABLE);
export const skuSchema = z.string().min(1, 'must not be empty').max(100, 'must be at most 100 characters').refine(storableText, STORABLE);

export const MAX_QUANTITY = 10_000;
export const MAX_LINES = 100;

export const orderInputSchema = z.strictObject({
  externalId: text(255).optional(),
  currency: currencySchema,
  items: z
    .array(
      z.strictObject({
        sku: skuSchema,
        quantity: z.number().int('must be a whole number').min(1, 'must be at least 1').max(MAX_QUANTITY),
      }),
    )
    .min(1, 'must hold at least one item')
    .max(MAX_LINES, `must hold at most ${MAX_LINES} items`),
  customer: z.strictObject({
    name: text(200),
    email: z.email('must be an email address').max(254).optional(),
    phone: z.string().regex(/^\+?[0-9 ()-]{5,32}$/, 'must be a phone number').optional(),
  }),
  shippingAddress: z.strictObject({
    name: text(200),
    line1: text(300),
    line2: text(300).optional(),
    city: text(100),
    region: text(100).optional(),
    postalCode: text(20),
    country: z.string().regex(/^[A-Z]{2}$/, 'must be an ISO 3166-1 alpha-2 code such as CN'),
  }),
  payment: z.lazy(() => paymentInputSchema),
});
export type OrderInput = z.output<typeof orderInputSchema>;

export const idempotencyKeySchema = z
  .string({ error: 'is required' })
  .regex(/^[\x20-\x7E]{1,255}$/, 'must be 1 to 255 printable ASCII characters');

export const productInputSchema = z.strictObject({
  name: text(200),
  priceMinor: z.number().int('must be whole minor units (fen, cents)').min(0).max(1_000_000_000_000),
  currency: currencySchema,
  stock: z.number().int('must be a whole number').min(0).max(1_000_000_000),
});
export type ProductInput = z.infer<typeof productInputSchema>;

/**
 * How the buyer pays (docs/api.md section 6), with its flow resolved: a body with `token` and no `flow` means
 * `barcode` for the wallets and `token` for PayPal and card (the contract before buyer-driven flows); without
 * either, each method's default (QR for the wallets, PayPal's approve link). `token` is '' when the flow needs none.
 */
export const paymentInputSchema = z
  .strictObject({
    method: z.enum(PAYMENT_METHODS, { error: `must be one of ${PAYMENT_METHODS.join(', ')}` }),
    flow: z.enum(PAYMENT_FLOWS, { error: `must be one of ${PAYMENT_FLOWS.join(', ')}` }).optional(),
    token: text(512).optional(),
    payer: z
      .strictObject({
        openid: z.string().regex(/^[0-9A-Za-z_-]{1,128}$/, 'must be a WeChat openid (letters, digits, _ and -)').optional(),
        device: z.enum(['mobile', 'desktop'], { error: 'must be mobile or desktop' }).optional(),
        clientIp: z.union([z.ipv4(), z.ipv6()], { error: 'must be an IP address' }).optional(),
      })
      .optional(),
    returnUrl: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).max(512, 'must be at most 512 characters').optional(),
  })
  .transform((p, ctx) => {
    const flows = FLOWS_OF[p.method];
    const flow = p.flow ?? (p.token !== undefined ? (flows.includes('barcode') ? 'barcode' : 'token') : flows[0]!);
    if (!flows.includes(flow)) {
      ctx.addIssue({ code: 'custom', path: ['flow'], message: `${p.method} takes flow ${flows.join(', ')}` });
      return z.NEVER;
    }
    if (chargesAtOnce(flow) && p.token === undefined) {
      ctx.addIssue({ code: 'custom', path: ['token'], message: `is required for ${p.method} with flow ${flow}` });
      return z.NEVER;
    }
    if (!chargesAtOnce(flow) && p.token !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['token'], message: `is not taken with flow ${flow}: the buyer pays through payment.action` });
      return z.NEVER;
    }
    if (flow === 'jsapi' && !p.payer?.openid) {
      ctx.addIssue({ code: 'custom', path: ['payer', 'openid'], message: 'is required for wechat_pay with flow jsapi' });
      return z.NEVER;
    }
    return { ...p, flow, token: p.token ?? '' };
  });
export type PaymentInput = z.output<typeof paymentInputSchema>;
