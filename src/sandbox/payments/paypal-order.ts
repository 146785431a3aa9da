import { createHash, randomUUID } from 'node:crypto';
import { crc32 } from 'node:zlib';
import type { Logger } from '../../logger.js';
import { formatDecimal } from '../../payments/decimal-amount.js';
import { rsaSign } from '../../payments/rsa.js';
import type { SandboxCredentials } from '../sandbox-credentials.js';
import { sendNotification, type ProviderCheckout } from './sandbox-http.js';
import { isPaid, randomAlnum, type SandboxTrade } from './sandbox-trade.js';

/** How PayPal shows an order and its capture, and the webhooks it sends about them. */

type Creds = SandboxCredentials['paypal'];

const alnum17 = (seed: string) => {
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  return Array.from(createHash('sha256').update(seed).digest().subarray(0, 17), (b) => chars[b % chars.length]).join('');
};
/** An order id: random, or (with a PayPal-Request-Id) the same for the same request, so a retry finds its order. */
export const paypalOrderId = (requestId?: string) => (requestId ? alnum17(`order:${requestId}`) : randomAlnum(17, true));
/** The platform's own merchant id (the app's account), stable per sandbox. */
export const paypalPlatformMerchant = (c: Creds) => alnum17(`merchant:${c.clientId}`).slice(0, 13);
const payerId = (t: SandboxTrade) => alnum17(`payer:${t.id}`).slice(0, 13);

export const paypalAmount = (minor: number, currency: string) => ({ currency_code: currency, value: formatDecimal(minor, currency) });

export function paypalOrderStatus(t: SandboxTrade): string {
  if (isPaid(t)) return 'COMPLETED';
  if (t.status === 'closed') return 'VOIDED';
  if (t.approvedAt) return 'APPROVED';
  return t.details.payer_action ? 'PAYER_ACTION_REQUIRED' : 'CREATED';
}

const captureStatus = (t: SandboxTrade) => (t.status === 'captured' ? 'COMPLETED' : t.status.toUpperCase());

export function paypalCapture(t: SandboxTrade, orderId: string): Record<string, unknown> {
  return {
    id: t.id, status: captureStatus(t), amount: paypalAmount(t.amountMinor, t.currency), final_capture: true,
    ...(t.reference ? { custom_id: t.reference } : {}), ...(t.details.invoice_id ? { invoice_id: t.details.invoice_id } : {}),
    seller_protection: { status: 'ELIGIBLE', dispute_categories: ['ITEM_NOT_RECEIVED', 'UNAUTHORIZED_TRANSACTION'] },
    payee: { merchant_id: t.merchant },
    supplementary_data: { related_ids: { order_id: orderId } },
    create_time: new Date(t.paidAt ?? t.createdAt).toISOString(), update_time: new Date(t.paidAt ?? t.createdAt).toISOString(),
  };
}

/** HATEOAS links, as PayPal gives them; `details.base` is the sandbox's base URL the merchant called. */
function links(t: SandboxTrade): Array<Record<string, string>> {
  const base = t.details.base ?? '';
  const api = `${base}/paypal/v2/checkout/orders/${encodeURIComponent(t.tradeKey)}`;
  return [
    { href: api, rel: 'self', method: 'GET' },
    ...(paypalOrderStatus(t) === 'CREATED' || paypalOrderStatus(t) === 'PAYER_ACTION_REQUIRED'
      ? [{ href: `${base}/checkout/${encodeURIComponent(t.checkoutRef ?? t.tradeKey)}`, rel: t.details.payer_action ? 'payer-action' : 'approve', method: 'GET' }]
      : []),
    ...(isPaid(t) || t.status === 'closed' ? [] : [{ href: api, rel: 'update', method: 'PATCH' }, { href: `${api}/capture`, rel: 'capture', method: 'POST' }]),
  ];
}

export function paypalOrder(t: SandboxTrade): Record<string, unknown> {
  const orderId = t.tradeKey;
  const unit = {
    reference_id: t.details.reference_id ?? 'default',
    ...(t.reference ? { custom_id: t.reference } : {}),
    ...(t.details.invoice_id ? { invoice_id: t.details.invoice_id } : {}),
    ...(t.details.description ? { description: t.details.description } : {}),
    amount: paypalAmount(t.requestedMinor, t.currency),
    payee: { merchant_id: t.merchant },
    ...(isPaid(t) ? { payments: { captures: [paypalCapture(t, orderId)] } } : {}),
  };
  return {
    id: orderId, intent: 'CAPTURE', status: paypalOrderStatus(t), purchase_units: [unit],
    ...(t.approvedAt ? { payer: { name: { given_name: 'Sandbox', surname: 'Buyer' }, email_address: 'buyer@sandbox.example', payer_id: payerId(t) } } : {}),
    create_time: new Date(t.createdAt).toISOString(), links: links(t),
  };
}

/** PayPal's webhook headers, signed over `id|time|webhook_id|crc32(body)` (with the sandbox's key, not PayPal's certificate). */
export function paypalWebhookHeaders(c: Creds, body: string): Record<string, string> {
  const id = randomUUID();
  const time = new Date().toISOString();
  return {
    'content-type': 'application/json', 'paypal-auth-algo': 'SHA256withRSA', 'paypal-cert-url': 'https://api.sandbox.paypal.com/v1/notifications/certs/CERT-sandbox',
    'paypal-transmission-id': id, 'paypal-transmission-time': time,
    'paypal-transmission-sig': rsaSign(`${id}|${time}|${c.webhookId}|${crc32(body)}`, c.webhookPrivateKey),
  };
}

export function paypalEvents(c: Creds, webhookUrl: string | undefined, logger?: Logger) {
  const emit = (eventType: string, resourceType: string, summary: string, resource: unknown) => {
    if (!webhookUrl) return;
    sendNotification(webhookUrl, () => {
      const body = JSON.stringify({
        id: `WH-${randomAlnum(17, true)}`, event_version: '1.0', create_time: new Date().toISOString(), resource_type: resourceType,
        resource_version: '2.0', event_type: eventType, summary, resource,
      });
      return { body, headers: paypalWebhookHeaders(c, body) };
    }, logger);
  };
  return {
    orderApproved: (order: unknown) => emit('CHECKOUT.ORDER.APPROVED', 'checkout-order', 'An order has been approved by buyer', order),
    captureCompleted: (t: SandboxTrade) => emit('PAYMENT.CAPTURE.COMPLETED', 'capture', 'Payment completed', paypalCapture(t, t.tradeKey)),
  };
}

export function paypalCheckout(events: ReturnType<typeof paypalEvents>): ProviderCheckout {
  return {
    label: 'PayPal',
    providerStatus: paypalOrderStatus,
    afterBuyer: (act, t) => {
      // Approval moves no money: the merchant hears of it and captures. A buyer who cancels is not announced.
      if (act === 'approved') events.orderApproved(paypalOrder(t));
    },
    returnUrl: (act, t) => {
      const to = act === 'declined' ? t.details.cancel_url : t.details.return_url;
      if (!to) return undefined;
      const q = new URLSearchParams(act === 'declined' ? { token: t.tradeKey } : { token: t.tradeKey, PayerID: payerId(t) });
      return `${to}${to.includes('?') ? '&' : '?'}${q}`;
    },
  };
}
