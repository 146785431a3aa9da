import { PermanentError, TransientError } from '../domain/errors.js';
import type { Capture, CaptureLookup, CaptureRequest, PaymentGateway, RefundOutcome, RefundRequest } from '../domain/payment-gateway.js';
import { formatDecimal, parseDecimal } from './decimal-amount.js';
import { paypalNotifications } from './paypal.notification.js';
import { parseJson, providerFetch } from './provider-http.js';

/** PayPal REST v2 (docs/providers.md section 3): the shop's token is the PayPal order its buyer approved. */
export interface PaypalGatewayOptions {
  /** Origin of the API, e.g. https://api-m.paypal.com. */
  baseUrl: string;
  clientId: string;
  clientSecret: string;
  /** The webhook's id in the PayPal app: part of what PayPal verifies a notification against. */
  webhookId: string;
  timeoutMs?: number;
  /** The PayPal order id to capture; the token itself unless a sandbox scopes its script tokens per order. */
  orderIdFor?: (req: { token: string; reference: string }) => string;
}

interface PaypalCapture { id?: string; status?: string; custom_id?: string; amount?: { currency_code?: string; value?: string } }
interface PaypalOrder { id?: string; status?: string; purchase_units?: Array<{ custom_id?: string; payments?: { captures?: PaypalCapture[] } }> }
interface PaypalError { name?: string; message?: string; details?: Array<{ issue?: string }> }
interface Answer<T> { status: number; json: T & PaypalError }

/** A request body that is JSON text already, sent as is. */
class RawJson {
  constructor(readonly text: string) {}
}

const DECLINE_ISSUES = new Set(['INSTRUMENT_DECLINED', 'TRANSACTION_REFUSED', 'PAYER_CANNOT_PAY', 'PAYEE_BLOCKED_TRANSACTION']);
const issueOf = (e: PaypalError) => e.details?.[0]?.issue ?? e.name ?? '';

export function createPaypalGateway(options: PaypalGatewayOptions): PaymentGateway {
  const orderIdFor = options.orderIdFor ?? ((r) => r.token);
  let token: { value: string; expiresAt: number } | undefined;
  let fetching: Promise<string> | undefined;

  const fetchToken = async (): Promise<string> => {
    const res = await providerFetch('paypal', {
      method: 'POST',
      url: `${options.baseUrl}/v1/oauth2/token`,
      headers: {
        authorization: `Basic ${Buffer.from(`${options.clientId}:${options.clientSecret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'grant_type=client_credentials',
    }, options.timeoutMs);
    const json = parseJson<{ access_token?: string; expires_in?: number }>(res.text);
    if (res.status !== 200 || !json?.access_token) throw new PermanentError('provider_rejected', `paypal oauth answered ${res.status}`);
    // Renew a minute early so a token never expires between our check and PayPal's.
    token = { value: json.access_token, expiresAt: Date.now() + Math.max(0, (json.expires_in ?? 0) - 60) * 1000 };
    return token.value;
  };
  const accessToken = (): Promise<string> => {
    if (token && token.expiresAt > Date.now()) return Promise.resolve(token.value);
    fetching ??= fetchToken().finally(() => (fetching = undefined));
    return fetching;
  };

  const call = async <T>(method: 'GET' | 'POST' | 'PATCH', path: string, body?: unknown, headers: Record<string, string> = {}, retried = false): Promise<Answer<T>> => {
    const res = await providerFetch('paypal', {
      method,
      url: `${options.baseUrl}${path}`,
      headers: { authorization: `Bearer ${await accessToken()}`, 'content-type': 'application/json', ...headers },
      ...(body === undefined ? {} : { body: body instanceof RawJson ? body.text : JSON.stringify(body) }),
    }, options.timeoutMs);
    if (res.status === 401 && !retried) {
      token = undefined; // revoked or expired early: one fresh token, then give up
      return call<T>(method, path, body, headers, true);
    }
    return { status: res.status, json: parseJson<T & PaypalError>(res.text) ?? ({} as T & PaypalError) };
  };

  const rejected = (what: string, a: Answer<unknown>) =>
    new PermanentError('provider_rejected', `paypal ${what}: ${a.status} ${issueOf(a.json)} ${a.json.message ?? ''}`.trim());

  const fromOrder = (order: PaypalOrder, req: CaptureRequest): CaptureLookup => {
    const unit = order.purchase_units?.[0];
    if (unit?.custom_id && unit.custom_id !== req.reference) return { status: 'failed', reason: 'paypal order belongs to another reference' };
    const cap = unit?.payments?.captures?.[0];
    if (!cap) return order.status === 'VOIDED' ? { status: 'failed', reason: 'paypal order VOIDED' } : { status: 'not_found' };
    if (cap.status === 'COMPLETED' || cap.status === 'PARTIALLY_REFUNDED' || cap.status === 'REFUNDED') {
      return { status: 'captured', providerReference: cap.id ?? '', amountMinor: parseDecimal(cap.amount?.value ?? '0', req.currency) };
    }
    if (cap.status === 'PENDING') return { status: 'pending' };
    return { status: 'failed', reason: `paypal capture ${cap.status ?? 'unknown'}` };
  };

  const lookup = async (req: CaptureRequest): Promise<CaptureLookup> => {
    const a = await call<PaypalOrder>('GET', `/v2/checkout/orders/${encodeURIComponent(orderIdFor(req))}`);
    if (a.status === 404) return { status: 'not_found' };
    if (a.status !== 200) throw rejected('order lookup', a);
    return fromOrder(a.json, req);
  };

  const captureResult = (found: CaptureLookup, what: string): Capture => {
    if (found.status === 'captured') return found;
    if (found.status === 'failed') throw new PermanentError('payment_declined', `paypal declined: ${found.reason}`);
    throw new TransientError('provider_unavailable', `paypal ${what}: capture ${found.status}`, { ambiguous: true });
  };

  return {
    method: 'paypal',
    lookup,
    async capture(req: CaptureRequest): Promise<Capture> {
      const path = `/v2/checkout/orders/${encodeURIComponent(orderIdFor(req))}`;
      const amount = { currency_code: req.currency.toUpperCase(), value: formatDecimal(req.amountMinor, req.currency) };
      // Bind the approved order to our reference and amount before capturing (PATCH works while APPROVED).
      const patched = await call('PATCH', path, [
        { op: 'add', path: "/purchase_units/@reference_id=='default'/custom_id", value: req.reference },
        { op: 'replace', path: "/purchase_units/@reference_id=='default'/amount", value: amount },
      ]);
      if (patched.status >= 300 && !(patched.status === 422 && issueOf(patched.json) === 'ORDER_ALREADY_CAPTURED')) throw rejected('order update', patched);
      const a = await call<PaypalOrder>('POST', `${path}/capture`, {}, { 'PayPal-Request-Id': `capture-${req.reference}`, Prefer: 'return=representation' });
      if (a.status === 200 || a.status === 201) return captureResult(fromOrder(a.json, req), 'capture');
      const issue = issueOf(a.json);
      if (a.status === 422 && issue === 'ORDER_ALREADY_CAPTURED') return captureResult(await lookup(req), 'capture');
      if (a.status === 422 && issue === 'ORDER_COMPLETION_IN_PROGRESS') throw new TransientError('provider_unavailable', 'paypal: order completion in progress', { ambiguous: true });
      if (a.status === 422 && DECLINE_ISSUES.has(issue)) throw new PermanentError('payment_declined', `paypal declined: ${issue}`);
      throw rejected('capture', a);
    },
    async refund(req: RefundRequest): Promise<RefundOutcome> {
      const a = await call<{ id?: string; status?: string }>('POST', `/v2/payments/captures/${encodeURIComponent(req.providerReference)}/refund`,
        { amount: { currency_code: req.currency.toUpperCase(), value: formatDecimal(req.amountMinor, req.currency) }, custom_id: req.refundId },
        { 'PayPal-Request-Id': req.refundId, Prefer: 'return=representation' });
      if (a.status === 200 || a.status === 201) {
        if (a.json.status === 'COMPLETED') return { status: 'succeeded', providerRefundId: a.json.id ?? '' };
        if (a.json.status === 'PENDING') return a.json.id ? { status: 'pending', providerRefundId: a.json.id } : { status: 'pending' };
        return { status: 'failed', reason: `paypal refund ${a.json.status ?? 'unknown'}` };
      }
      const issue = issueOf(a.json);
      if (issue === 'REFUND_AMOUNT_EXCEEDED' || issue === 'CAPTURE_FULLY_REFUNDED') return { status: 'failed', reason: 'amount_exceeded' };
      if (a.status === 422 || a.status === 404) return { status: 'failed', reason: issue || `http_${a.status}` };
      throw rejected('refund', a);
    },
    /**
     * PayPal finds refunds only by its own id; the idiomatic lookup is to replay the request under the same
     * PayPal-Request-Id, which answers the first request's latest state (kept 45 days) and refunds at most once.
     */
    lookupRefund(req: RefundRequest): Promise<RefundOutcome> {
      return this.refund(req);
    },
    ...paypalNotifications({
      webhookId: options.webhookId,
      postJson: (path, body) => call<{ verification_status?: unknown }>('POST', path, new RawJson(body)),
    }),
  };
}
