import { PermanentError, TransientError } from '../domain/errors.js';
import type {
  ActionRequired, Capture, CaptureLookup, CaptureRequest, PaymentGateway, RefundOutcome, RefundRequest,
} from '../domain/payment-gateway.js';
import { cardNotifications } from './card.notification.js';
import { parseJson, providerFetch } from './provider-http.js';

/** Cards through a Stripe-style PaymentIntents API (docs/providers.md section 4): the token is a PaymentMethod id. */
export interface CardGatewayOptions {
  /** Origin of the API, e.g. https://api.stripe.com; paths start with /v1. */
  baseUrl: string;
  secretKey: string;
  webhookSecret: string;
  /** The platform's own account id (`acct_...`): who a charge without `Stripe-Account` pays. */
  accountId?: string | undefined;
  /** Where the 3-D Secure page sends the buyer back when the order named no return URL. */
  returnUrl?: string | undefined;
  timeoutMs?: number;
}

interface Intent {
  id?: string; status?: string; amount?: number; amount_received?: number; currency?: string; metadata?: Record<string, string>;
  next_action?: { redirect_to_url?: { url?: string }; use_stripe_sdk?: { stripe_js?: string } } | null;
  last_payment_error?: { code?: string; decline_code?: string } | null;
}
interface Refund { id?: string; status?: string; metadata?: Record<string, string> }
interface StripeError { error?: { type?: string; code?: string; decline_code?: string; message?: string; payment_intent?: Intent } }
interface Answer<T> { status: number; json: T & StripeError }

export function createCardGateway(options: CardGatewayOptions): PaymentGateway {
  const call = async <T>(method: 'GET' | 'POST', path: string, req: { merchant?: string | undefined } | undefined, form?: Record<string, string>, idempotencyKey?: string): Promise<Answer<T>> => {
    const res = await providerFetch('card', {
      method,
      url: `${options.baseUrl}${path}`,
      headers: {
        authorization: `Bearer ${options.secretKey}`,
        // Connect: the shop's own account; it alone sees its intents.
        ...(req?.merchant ? { 'Stripe-Account': req.merchant } : {}),
        ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
        ...(idempotencyKey ? { 'Idempotency-Key': idempotencyKey } : {}),
      },
      ...(form ? { body: new URLSearchParams(form).toString() } : {}),
    }, options.timeoutMs);
    return { status: res.status, json: parseJson<T & StripeError>(res.text) ?? ({} as T & StripeError) };
  };

  const rejected = (what: string, a: Answer<unknown>) =>
    new PermanentError('provider_rejected', `card ${what}: ${a.status} ${a.json.error?.type ?? ''} ${a.json.error?.message ?? ''}`.trim());

  /** What an intent says of our payment. A PaymentIntent names no account: the one we called as was paid. */
  const fromIntent = (pi: Intent, req: CaptureRequest): CaptureLookup => {
    if (pi.metadata?.order_id !== undefined && pi.metadata.order_id !== req.reference) return { status: 'failed', reason: 'payment intent belongs to another reference' };
    switch (pi.status) {
      case 'succeeded':
        return {
          status: 'captured', providerReference: pi.id ?? '', amountMinor: pi.amount_received ?? pi.amount ?? 0,
          currency: (pi.currency ?? '').toUpperCase(), merchant: req.merchant ?? options.accountId,
        };
      case 'processing': case 'requires_capture': case 'requires_action': case 'requires_confirmation':
        return { status: 'pending' };
      case 'requires_payment_method': {
        // After a failed 3-D Secure (or a decline) the intent waits for another card: this attempt failed.
        const e = pi.last_payment_error;
        return { status: 'failed', reason: `payment intent requires_payment_method${e ? ` (${e.decline_code ?? e.code ?? 'failed'})` : ''}` };
      }
      default:
        return { status: 'failed', reason: `payment intent ${pi.status ?? 'unknown'}` };
    }
  };

  const actionOf = (pi: Intent): ActionRequired => {
    // A redirect when we gave a return_url; the use_stripe_sdk form names the same page otherwise.
    const url = pi.next_action?.redirect_to_url?.url ?? pi.next_action?.use_stripe_sdk?.stripe_js;
    if (!url || !pi.id) throw new PermanentError('provider_rejected', 'card: payment intent requires an action it does not name');
    return { status: 'action_required', action: { type: 'redirect', url }, trade: pi.id };
  };

  /** The intents of our reference for the account it was charged through (Stripe's search may lag a minute). */
  const search = async (req: CaptureRequest): Promise<Intent[]> => {
    const query = `metadata['order_id']:'${req.reference.replace(/'/g, "\\'")}'`;
    const a = await call<{ data?: Intent[] }>('GET', `/v1/payment_intents/search?query=${encodeURIComponent(query)}`, req);
    if (a.status !== 200) throw rejected('search', a);
    return a.json.data ?? [];
  };
  const getIntent = async (id: string, req: CaptureRequest): Promise<Intent | undefined> => {
    const a = await call<Intent>('GET', `/v1/payment_intents/${encodeURIComponent(id)}`, req);
    if (a.status === 404) return undefined;
    if (a.status !== 200) throw rejected('payment intent lookup', a);
    return a.json;
  };
  const best = (found: CaptureLookup[]): CaptureLookup =>
    found.find((f) => f.status === 'captured') ?? found.find((f) => f.status === 'pending') ?? found[0] ?? { status: 'not_found' };

  /** Cancels one intent; answers its capture when it had succeeded first. */
  const cancel = async (id: string, req: CaptureRequest): Promise<CaptureLookup> => {
    const a = await call<Intent>('POST', `/v1/payment_intents/${encodeURIComponent(id)}/cancel`, req, {});
    if (a.status === 404) return { status: 'failed', reason: 'no trade' };
    const state = a.status === 200 ? a.json : a.json.error?.code === 'payment_intent_unexpected_state' ? a.json.error.payment_intent ?? (await getIntent(id, req)) : undefined;
    if (!state) throw rejected('cancel', a);
    const found = fromIntent(state, req);
    return found.status === 'captured' || found.status === 'pending' ? found : { status: 'failed', reason: 'closed' };
  };

  return {
    method: 'card',
    platformMerchant: options.accountId,
    async capture(req: CaptureRequest): Promise<Capture | ActionRequired> {
      const returnUrl = req.returnUrl ?? options.returnUrl;
      const a = await call<Intent>('POST', '/v1/payment_intents', req, {
        amount: String(req.amountMinor),
        currency: req.currency.toLowerCase(),
        payment_method: req.token,
        'payment_method_types[]': 'card',
        confirm: 'true',
        ...(req.description ? { description: req.description } : {}),
        'metadata[order_id]': req.reference,
        ...(returnUrl ? { return_url: returnUrl } : {}),
      }, `capture-${req.reference}`);
      if (a.status === 200) {
        if (a.json.status === 'requires_action') return actionOf(a.json);
        const found = fromIntent(a.json, req);
        if (found.status === 'captured') return found;
        if (found.status === 'failed') throw new PermanentError('payment_declined', `card declined: ${found.reason}`);
        throw new TransientError('provider_unavailable', 'card: payment processing', { ambiguous: true });
      }
      if (a.status === 402 || a.json.error?.type === 'card_error') {
        throw new PermanentError('payment_declined', `card declined: ${a.json.error?.decline_code ?? a.json.error?.code ?? 'card_declined'}`);
      }
      // 409: a request with this key is still executing; its outcome is not known yet.
      if (a.status === 409) throw new TransientError('provider_unavailable', 'card: a capture with this key is in flight', { ambiguous: true });
      throw rejected('capture', a);
    },
    async lookup(req: CaptureRequest): Promise<CaptureLookup> {
      if (req.trade) {
        const pi = await getIntent(req.trade, req);
        return pi ? fromIntent(pi, req) : { status: 'not_found' };
      }
      return best((await search(req)).map((pi) => fromIntent(pi, req)));
    },
    async close(req: CaptureRequest): Promise<CaptureLookup> {
      const ids = req.trade ? [req.trade] : (await search(req)).map((pi) => pi.id ?? '').filter(Boolean);
      if (ids.length === 0) return { status: 'failed', reason: 'no trade' };
      const found: CaptureLookup[] = [];
      for (const id of ids) found.push(await cancel(id, req));
      return best(found);
    },
    async refund(req: RefundRequest): Promise<RefundOutcome> {
      const a = await call<Refund>('POST', '/v1/refunds', req, {
        payment_intent: req.providerReference,
        amount: String(req.amountMinor),
        'metadata[refund_id]': req.refundId,
        'metadata[order_id]': req.reference,
      }, req.refundId);
      if (a.status === 200) return refundOutcome(a.json);
      const code = a.json.error?.code;
      if (code === 'amount_too_large' || code === 'charge_already_refunded') return { status: 'failed', reason: 'amount_exceeded' };
      if (a.status === 409) throw new TransientError('provider_unavailable', 'card: a refund with this key is in flight', { ambiguous: true });
      if (a.status === 400 && a.json.error?.type === 'invalid_request_error') return { status: 'failed', reason: code ?? 'invalid_request' };
      throw rejected('refund', a);
    },
    async lookupRefund(req: RefundRequest): Promise<RefundOutcome> {
      const a = await call<{ data?: Refund[] }>('GET', `/v1/refunds?payment_intent=${encodeURIComponent(req.providerReference)}&limit=100`, req);
      if (a.status !== 200) throw rejected('refund list', a);
      const found = (a.json.data ?? []).find((r) => r.metadata?.refund_id === req.refundId);
      return found ? refundOutcome(found) : { status: 'failed', reason: 'not_found' };
    },
    ...cardNotifications(options),
  };
}

function refundOutcome(r: Refund): RefundOutcome {
  if (r.status === 'succeeded') return { status: 'succeeded', providerRefundId: r.id ?? '' };
  if (r.status === 'pending' || r.status === 'requires_action') return r.id ? { status: 'pending', providerRefundId: r.id } : { status: 'pending' };
  return { status: 'failed', reason: `refund ${r.status ?? 'unknown'}` };
}
