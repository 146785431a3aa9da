import { PermanentError } from '../domain/errors.js';
import type { NotificationReply, PaymentGateway, PaymentNotification, RawNotification } from '../domain/payment-gateway.js';
import { parseDecimal } from './decimal-amount.js';
import { headerValue, parseJson } from './provider-http.js';

/**
 * PayPal webhooks, verified by PayPal itself: POST /v1/notifications/verify-webhook-signature with the
 * transmission headers, our webhook id and the event. PayPal checks its signature against the event's exact
 * bytes (a CRC32 of them is part of what it signed), so the event is sent as the raw text we received,
 * embedded verbatim in the request body, never parsed and serialised again (which would reorder keys, drop
 * whitespace and re-escape characters, and fail every genuine notification that was not compact already).
 */

export interface PaypalNotificationOptions {
  webhookId: string;
  /** POSTs an already-serialised JSON body to PayPal's API with the app's access token. */
  postJson(path: string, body: string): Promise<{ status: number; json: { verification_status?: unknown } }>;
  /** The clock that judges a notification's age; the real one unless a test replays an old notification. */
  now?: () => number;
}

/**
 * PayPal retries an unacknowledged webhook up to 25 times over 3 days: a transmission older than that (or
 * dated in the future beyond clock skew) is a replay, refused before it costs a verification call.
 */
const RETRY_WINDOW_MS = 3 * 24 * 3_600_000;
const CLOCK_SKEW_MS = 5 * 60_000;

interface Capture {
  id?: unknown;
  custom_id?: unknown;
  amount?: { currency_code?: unknown; value?: unknown };
  payee?: { merchant_id?: unknown };
}

/** The events that may change a payment here; any other is acknowledged and never verified. */
const ACTED_ON: Record<string, PaymentNotification['status']> = {
  'PAYMENT.CAPTURE.COMPLETED': 'captured',
  'PAYMENT.CAPTURE.DECLINED': 'failed',
  'PAYMENT.CAPTURE.DENIED': 'failed',
  // The buyer approved an order orderworks created: it is completed (captured) at once instead of at the next look.
  'CHECKOUT.ORDER.APPROVED': 'approved',
};

const REPLY: NotificationReply = { status: 200, contentType: 'text/plain', body: '' };
const rejected = (why: string, cause?: unknown) => new PermanentError('provider_rejected', `paypal notification ${why}`, { cause });

/** The transmission headers as PayPal's verify-webhook-signature schema bounds them. */
const TRANSMISSION = {
  auth_algo: { header: 'paypal-auth-algo', valid: (v: string) => v.length <= 100 && /^[a-zA-Z0-9]+$/.test(v) },
  cert_url: { header: 'paypal-cert-url', valid: (v: string) => v.length <= 500 && URL.canParse(v) },
  transmission_id: { header: 'paypal-transmission-id', valid: (v: string) => v.length <= 50 && /^(?!\d+$)\w+\S+$/.test(v) },
  transmission_sig: { header: 'paypal-transmission-sig', valid: (v: string) => v.length <= 500 && /^(?!\d+$)\w+\S+$/.test(v) },
  transmission_time: { header: 'paypal-transmission-time', valid: (v: string) => v.length <= 100 && !Number.isNaN(Date.parse(v)) },
} as const;

type Transmission = Record<keyof typeof TRANSMISSION, string>;

interface Inspected {
  text: string;
  transmission: Transmission;
  type: string;
  capture: Capture;
}

function inspect(raw: RawNotification, now: number): Inspected {
  const text = raw.body.toString('utf8');
  // Bytes that are not UTF-8 would reach PayPal altered: refuse them rather than send what was not received.
  if (!Buffer.from(text, 'utf8').equals(raw.body)) throw rejected('is not UTF-8');
  const event = parseJson<{ event_type?: unknown; resource?: unknown }>(text);
  if (typeof event !== 'object' || event === null || Array.isArray(event) || typeof event.event_type !== 'string') {
    throw rejected('is not a PayPal webhook event');
  }
  const transmission = {} as Transmission;
  for (const [field, { header, valid }] of Object.entries(TRANSMISSION) as Array<[keyof Transmission, (typeof TRANSMISSION)[keyof Transmission]]>) {
    const value = headerValue(raw.headers, header);
    if (!value || !valid(value)) throw rejected(`has no valid ${header} header`);
    transmission[field] = value;
  }
  const age = now - Date.parse(transmission.transmission_time);
  if (age > RETRY_WINDOW_MS + CLOCK_SKEW_MS || age < -CLOCK_SKEW_MS) throw rejected('is stale (transmitted outside PayPal\'s 3-day retry window)');
  const object = (v: unknown) => (typeof v === 'object' && v !== null && !Array.isArray(v) ? v : {});
  const resource = object(event.resource) as Capture & { purchase_units?: unknown };
  // An order event names its purchase unit's custom_id and amount; a capture event its own.
  const capture = event.event_type.startsWith('CHECKOUT.ORDER.')
    ? (object(Array.isArray(resource.purchase_units) ? resource.purchase_units[0] : undefined) as Capture)
    : resource;
  return { text, transmission, type: event.event_type, capture };
}

export function paypalNotifications(options: PaypalNotificationOptions): Pick<PaymentGateway, 'inspectNotification' | 'parseNotification'> {
  return {
    async inspectNotification(raw) {
      const { type, capture } = inspect(raw, options.now?.() ?? Date.now());
      if (!ACTED_ON[type]) return { acts: false, reply: REPLY };
      const named = typeof capture.custom_id === 'string' && capture.custom_id !== '';
      // An order a shop's own page created (the token flow) carries no reference of ours until we capture it.
      if (!named && ACTED_ON[type] === 'approved') return { acts: false, reply: REPLY };
      if (!named) throw rejected('names no custom_id');
      return { acts: true, reference: capture.custom_id as string };
    },
    async parseNotification(raw) {
      const { text, transmission, type, capture } = inspect(raw, options.now?.() ?? Date.now());
      const fields = Object.entries({ ...transmission, webhook_id: options.webhookId }).map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`);
      const v = await options.postJson('/v1/notifications/verify-webhook-signature', `{${fields.join(',')},"webhook_event":${text}}`);
      if (v.status !== 200) throw new PermanentError('provider_rejected', `paypal webhook verification answered ${v.status}`);
      if (v.json.verification_status !== 'SUCCESS') throw rejected('signature did not verify');
      return { notification: notificationOf(ACTED_ON[type] ?? 'other', capture), reply: REPLY };
    },
  };
}

function notificationOf(status: PaymentNotification['status'], capture: Capture): PaymentNotification {
  const { value, currency_code: currency } = capture.amount ?? {};
  let amountMinor: number | undefined;
  if (typeof value === 'string' && typeof currency === 'string') {
    try {
      amountMinor = parseDecimal(value, currency);
    } catch (cause) {
      throw rejected(`states an unreadable amount ${value}`, cause);
    }
  }
  return {
    reference: typeof capture.custom_id === 'string' ? capture.custom_id : '',
    status,
    ...(typeof capture.id === 'string' && capture.id ? { providerReference: capture.id } : {}),
    ...(typeof capture.payee?.merchant_id === 'string' && capture.payee.merchant_id ? { merchant: capture.payee.merchant_id } : {}),
    ...(amountMinor !== undefined ? { amountMinor, currency: (currency as string).toUpperCase() } : {}),
  };
}
