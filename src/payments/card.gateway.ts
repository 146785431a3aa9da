import { PermanentError, TransientError } from '../domain/errors.js';
import type { Capture, CaptureLookup, CaptureRequest, PaymentGateway, RefundOutcome, RefundRequest } from '../domain/payment-gateway.js';
import { cardNotifications } from './card.notification.js';
import { parseJson, providerFetch } from './provider-http.js';

/** Cards through a Stripe-style PaymentIntents API (docs/providers.md section 4): the token is a PaymentMethod id. */
export interface CardGatewayOptions {
  /** Origin of the API, e.g. https://api.stripe.com; paths start with /v1. */
  baseUrl: string;
  secretKey: string;
  webhookSecret: string;
  timeoutMs?: number;
}

interface Intent { id?: string; status?: string; amount?: number; amount_received?: number; metadata?: Record<string, string> }
interface Refund { id?: string; status?: string; metadata?: Record<string, string> }
interface StripeError { error?: { type?: string; code?: string; decline_code?: string; message?: string } }
interface Answer<T> { status: number; json: T & StripeError }

export function createCardGateway(options: CardGatewayOptions): PaymentGateway {
  const call = async <T>(method: 'GET' | 'POST', path: string, form?: Record<string, string>, idempotencyKey?: string): Promise<Answer<T>> => {
    const res = await providerFetch('card', {
      method,
      url: `${options.baseUrl}${path}`,
      headers: {
        authorization: `Bearer ${options.secretKey}`,
        ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
        ...(idempotencyKey ? { 'Idempotency-Key': idempotencyKey } : {}),
      },
      ...(form ? { body: new URLSearchParams(form).toString() } : {}),
    }, options.timeoutMs);
    return { status: res.status, json: parseJson<T & StripeError>(res.text) ?? ({} as T & StripeError) };
  };

  const rejected = (what: string, a: Answer<unknown>) =>
    new PermanentError('provider_rejected', `card ${what}: ${a.status} ${a.json.error?.type ?? ''} ${a.json.error?.message ?? ''}`.trim());

  const fromIntent = (pi: Intent): CaptureLookup => {
    if (pi.status === 'succeeded') return { status: 'captured', providerReference: pi.id ?? '', amountMinor: pi.amount_received ?? pi.amount ?? 0 };
    if (pi.status === 'processing' || pi.status === 'requires_capture') return { status: 'pending' };
    return { status: 'failed', reason: `payment intent ${pi.status ?? 'unknown'}` };
  };

  const refundOutcome = (r: Refund): RefundOutcome => {
    if (r.status === 'succeeded') return { status: 'succeeded', providerRefundId: r.id ?? '' };
    if (r.status === 'pending' || r.status === 'requires_action') return r.id ? { status: 'pending', providerRefundId: r.id } : { status: 'pending' };
    return { status: 'failed', reason: `refund ${r.status ?? 'unknown'}` };
  };

  return {
    method: 'card',
    async capture(req: CaptureRequest): Promise<Capture> {
      const a = await call<Intent>('POST', '/v1/payment_intents', {
        amount: String(req.amountMinor),
        currency: req.currency.toLowerCase(),
        payment_method: req.token,
        'payment_method_types[]': 'card',
        confirm: 'true',
        description: req.description,
        'metadata[order_id]': req.reference,
      }, `capture-${req.reference}`);
      if (a.status === 200) {
        const found = fromIntent(a.json);
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
    /** Stripe's search index may lag up to a minute; a retried capture under the same key is safe regardless. */
    async lookup(req: CaptureRequest): Promise<CaptureLookup> {
      const query = `metadata['order_id']:'${req.reference.replace(/'/g, "\\'")}'`;
      const a = await call<{ data?: Intent[] }>('GET', `/v1/payment_intents/search?query=${encodeURIComponent(query)}`);
      if (a.status !== 200) throw rejected('search', a);
      const found = (a.json.data ?? []).map(fromIntent);
      return found.find((f) => f.status === 'captured') ?? found.find((f) => f.status === 'pending') ?? found[0] ?? { status: 'not_found' };
    },
    async refund(req: RefundRequest): Promise<RefundOutcome> {
      const a = await call<Refund>('POST', '/v1/refunds', {
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
      const a = await call<{ data?: Refund[] }>('GET', `/v1/refunds?payment_intent=${encodeURIComponent(req.providerReference)}&limit=100`);
      if (a.status !== 200) throw rejected('refund list', a);
      const found = (a.json.data ?? []).find((r) => r.metadata?.refund_id === req.refundId);
      return found ? refundOutcome(found) : { status: 'failed', reason: 'not_found' };
    },
    ...cardNotifications(options),
  };
}
