import { createHash } from 'node:crypto';
import type { Logger } from '../../logger.js';
import { stripeSignatureHeader } from '../../payments/stripe.signing.js';
import type { SandboxCredentials } from '../sandbox-credentials.js';
import { sendNotification, type ProviderCheckout } from './sandbox-http.js';
import { isPaid, randomAlnum, type SandboxRefund, type SandboxTrade } from './sandbox-trade.js';

/** How the Stripe-style card API shows a PaymentIntent and a refund, and the events it sends. */

type Creds = SandboxCredentials['card'];

const hashed = (seed: string, n: number) => createHash('sha256').update(seed).digest('base64url').replace(/[-_]/g, '').slice(0, n);
/** The platform's own account, stable per sandbox; a connected account is named by the Stripe-Account header. */
export const cardPlatformAccount = (c: Creds) => `acct_${hashed(`platform:${c.secretKey}`, 16)}`;
const clientSecret = (t: SandboxTrade) => `${t.id}_secret_${hashed(`secret:${t.id}`, 24)}`;
const unix = (d: Date) => Math.floor(new Date(d).getTime() / 1000);

export function intentStatus(t: SandboxTrade): string {
  if (isPaid(t)) return 'succeeded';
  if (t.status === 'closed') return 'canceled';
  return t.declinedAt ? 'requires_payment_method' : 'requires_action';
}

/**
 * The 3-D Secure step: a redirect to the checkout page when the merchant gave a return_url (as Stripe does),
 * otherwise the use_stripe_sdk form, which names the same page.
 */
function nextAction(t: SandboxTrade): Record<string, unknown> {
  const url = `${t.details.base ?? ''}/checkout/${encodeURIComponent(t.checkoutRef ?? t.id)}`;
  return t.details.return_url
    ? { type: 'redirect_to_url', redirect_to_url: { url, return_url: t.details.return_url } }
    : { type: 'use_stripe_sdk', use_stripe_sdk: { type: 'three_d_secure_redirect', stripe_js: url, source: `src_${hashed(`src:${t.id}`, 24)}` } };
}

export function cardIntent(t: SandboxTrade): Record<string, unknown> {
  const status = intentStatus(t);
  return {
    id: t.id, object: 'payment_intent', amount: t.requestedMinor, amount_received: isPaid(t) ? t.amountMinor : 0, currency: t.currency.toLowerCase(),
    status, capture_method: 'automatic', confirmation_method: 'automatic', payment_method: t.token, livemode: false, client_secret: clientSecret(t),
    latest_charge: isPaid(t) ? `ch_${t.id.slice(3)}` : null, metadata: { order_id: t.reference }, created: unix(t.createdAt),
    ...(t.details.description ? { description: t.details.description } : {}),
    next_action: status === 'requires_action' ? nextAction(t) : null,
    last_payment_error: status === 'requires_payment_method'
      ? { type: 'card_error', code: 'payment_intent_authentication_failure', message: 'The provided PaymentMethod has failed authentication.' }
      : null,
    ...(status === 'canceled' ? { canceled_at: unix(t.closedAt ?? new Date()), cancellation_reason: t.details.cancellation_reason ?? 'requested_by_customer' } : {}),
  };
}

export function cardRefund(r: SandboxRefund, t: SandboxTrade): Record<string, unknown> {
  return {
    id: r.id, object: 'refund', amount: r.amountMinor, currency: t.currency.toLowerCase(), payment_intent: t.id, charge: `ch_${t.id.slice(3)}`,
    status: 'succeeded', metadata: r.details, created: unix(r.createdAt),
  };
}

export function cardEvents(c: Creds, webhookUrl: string | undefined, logger?: Logger) {
  const platform = cardPlatformAccount(c);
  return (type: 'payment_intent.succeeded' | 'payment_intent.payment_failed' | 'payment_intent.canceled', t: SandboxTrade) => {
    if (!webhookUrl) return;
    sendNotification(webhookUrl, () => {
      const body = JSON.stringify({
        id: `evt_${randomAlnum(24)}`, object: 'event', api_version: '2024-06-20', created: Math.floor(Date.now() / 1000), type, livemode: false,
        // Connect: an event of a connected account names it.
        ...(t.merchant && t.merchant !== platform ? { account: t.merchant } : {}),
        data: { object: cardIntent(t) },
      });
      return { body, headers: { 'content-type': 'application/json', 'stripe-signature': stripeSignatureHeader(c.webhookSecret, body) } };
    }, logger);
  };
}

export function cardCheckout(emit: ReturnType<typeof cardEvents>): ProviderCheckout {
  return {
    label: '3-D Secure',
    providerStatus: intentStatus,
    afterBuyer: (act, t) => emit(act === 'declined' ? 'payment_intent.payment_failed' : 'payment_intent.succeeded', t),
    returnUrl: (act, t) => {
      const to = t.details.return_url;
      if (!to) return undefined;
      const q = new URLSearchParams({ payment_intent: t.id, payment_intent_client_secret: clientSecret(t), redirect_status: act === 'declined' ? 'failed' : 'succeeded' });
      return `${to}${to.includes('?') ? '&' : '?'}${q}`;
    },
  };
}
