import { PermanentError } from '../domain/errors.js';
import type { NotificationReply, PaymentGateway, PaymentNotification } from '../domain/payment-gateway.js';
import { headerValue, oncePerNotification, parseJson } from './provider-http.js';
import { verifyStripeSignature } from './stripe.signing.js';

/** Stripe-style webhook events, signed with an HMAC over `<t>.<raw body>` in Stripe-Signature. */

interface Intent {
  id?: unknown;
  amount?: unknown;
  amount_received?: unknown;
  currency?: unknown;
  metadata?: { order_id?: unknown };
}

/** The events that may change a payment here; any other is acknowledged and never verified. */
const ACTED_ON: Record<string, PaymentNotification['status']> = {
  'payment_intent.succeeded': 'captured',
  'payment_intent.payment_failed': 'failed',
};

const REPLY: NotificationReply = { status: 200, contentType: 'application/json', body: '{"received":true}' };
const rejected = (why: string) => new PermanentError('provider_rejected', `card notification ${why}`);

const inspect = oncePerNotification((raw): { text: string; type: string; intent: Intent } => {
  const text = raw.body.toString('utf8');
  const event = parseJson<{ type?: unknown; data?: { object?: unknown } }>(text);
  if (typeof event?.type !== 'string' || !headerValue(raw.headers, 'stripe-signature')) throw rejected('is not a signed webhook event');
  const object = event.data?.object;
  return { text, type: event.type, intent: typeof object === 'object' && object !== null ? (object as Intent) : {} };
});

export function cardNotifications(options: { webhookSecret: string }): Pick<PaymentGateway, 'inspectNotification' | 'parseNotification'> {
  return {
    async inspectNotification(raw) {
      const { type, intent } = inspect(raw);
      if (!ACTED_ON[type]) return { acts: false, reply: REPLY };
      const reference = intent.metadata?.order_id;
      if (typeof reference !== 'string' || !reference) throw rejected('names no metadata.order_id');
      return { acts: true, reference };
    },
    async parseNotification(raw) {
      const { text, type, intent } = inspect(raw);
      if (!verifyStripeSignature(headerValue(raw.headers, 'stripe-signature'), text, options.webhookSecret)) {
        throw rejected('signature or timestamp did not verify');
      }
      const amount = intent.amount_received ?? intent.amount;
      const reference = intent.metadata?.order_id;
      return {
        notification: {
          reference: typeof reference === 'string' ? reference : '',
          status: ACTED_ON[type] ?? 'other',
          ...(typeof intent.id === 'string' && intent.id ? { providerReference: intent.id } : {}),
          ...(Number.isSafeInteger(amount) && typeof intent.currency === 'string' ? { amountMinor: amount as number, currency: intent.currency.toUpperCase() } : {}),
        },
        reply: REPLY,
      };
    },
  };
}
