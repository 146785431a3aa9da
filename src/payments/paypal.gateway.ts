import { PermanentError, TransientError } from '../domain/errors.js';
import type {
  ActionRequired, Capture, CaptureLookup, CaptureRequest, PaymentGateway, RefundOutcome, RefundRequest,
} from '../domain/payment-gateway.js';
import { formatDecimal, parseDecimal } from './decimal-amount.js';
import { issueOf, paypalClient, RawJson } from './paypal.client.js';
import { paypalNotifications } from './paypal.notification.js';

/**
 * PayPal REST v2 (docs/providers.md section 3). Flow `redirect`: we create the order (intent CAPTURE) and
 * capture it once the buyer approved. Flow `token`: the shop's page created the order and had it approved;
 * we bind it to our reference and amount (PATCH), then capture.
 */
export interface PaypalGatewayOptions {
  /** Origin of the API, e.g. https://api-m.paypal.com. */
  baseUrl: string;
  clientId: string;
  clientSecret: string;
  /** The webhook's id in the PayPal app: part of what PayPal verifies a notification against. */
  webhookId: string;
  /** The platform's own merchant id (payer id) at PayPal: the `payee.merchant_id` of its captures. */
  merchantId?: string | undefined;
  timeoutMs?: number;
  /** The PayPal order id to capture; the token itself unless a sandbox scopes its script tokens per order. */
  orderIdFor?: (req: { token: string; reference: string }) => string;
}

interface PaypalAmount { currency_code?: string; value?: string }
interface PaypalCapture { id?: string; status?: string; amount?: PaypalAmount; payee?: { merchant_id?: string } }
interface PaypalUnit { custom_id?: string; amount?: PaypalAmount; payee?: { merchant_id?: string }; payments?: { captures?: PaypalCapture[] } }
interface PaypalOrder { id?: string; status?: string; purchase_units?: PaypalUnit[]; links?: Array<{ href?: string; rel?: string }> }

const DECLINE_ISSUES = new Set(['INSTRUMENT_DECLINED', 'TRANSACTION_REFUSED', 'PAYER_CANNOT_PAY', 'PAYEE_BLOCKED_TRANSACTION']);
/** An order the buyer has not approved yet. */
const OPEN = new Set(['CREATED', 'SAVED', 'PAYER_ACTION_REQUIRED']);
const FOREIGN = 'paypal order belongs to another reference';
const UNIT = "/purchase_units/@reference_id=='default'";
const orderPath = (id: string) => `/v2/checkout/orders/${encodeURIComponent(id)}`;
const amountOf = (req: CaptureRequest) => ({ currency_code: req.currency.toUpperCase(), value: formatDecimal(req.amountMinor, req.currency) });
const asksOurAmount = (unit: PaypalUnit | undefined, req: CaptureRequest) =>
  unit?.amount?.currency_code === req.currency.toUpperCase() && unit.amount.value === formatDecimal(req.amountMinor, req.currency);
/** Compatibility: a request without a flow but with a token is the shop's approved order. */
const isToken = (req: CaptureRequest) => (req.flow ?? (req.token ? 'token' : 'redirect')) === 'token';

export function createPaypalGateway(options: PaypalGatewayOptions): PaymentGateway {
  const orderIdFor = options.orderIdFor ?? ((r) => r.token);
  const { call, rejected } = paypalClient(options);
  /** The order a request follows: the one `capture` opened (`trade`), else the shop's approved order. */
  const orderOf = (req: CaptureRequest) => req.trade ?? (isToken(req) && req.token ? orderIdFor(req) : undefined);
  // One capture per reference, whichever flow and however often it is retried (PayPal replays it for 6 h).
  const captureHeaders = (req: CaptureRequest) => ({ 'PayPal-Request-Id': `capture-${req.reference}`, Prefer: 'return=representation' });

  const getOrder = async (id: string): Promise<PaypalOrder | undefined> => {
    const a = await call<PaypalOrder>('GET', orderPath(id));
    if (a.status === 404) return undefined;
    if (a.status !== 200) throw rejected('order lookup', a);
    return a.json;
  };

  /** What the order's capture says, as PayPal records it; undefined while nothing was captured. */
  const captured = (order: PaypalOrder, req: CaptureRequest): CaptureLookup | undefined => {
    const unit = order.purchase_units?.[0];
    if (unit?.custom_id && unit.custom_id !== req.reference) return { status: 'failed', reason: FOREIGN };
    const cap = unit?.payments?.captures?.[0];
    if (!cap) return undefined;
    if (cap.status === 'COMPLETED' || cap.status === 'PARTIALLY_REFUNDED' || cap.status === 'REFUNDED') {
      const currency = (cap.amount?.currency_code ?? '').toUpperCase();
      return {
        status: 'captured', providerReference: cap.id ?? '', amountMinor: parseDecimal(cap.amount?.value ?? '0', currency || req.currency), currency,
        merchant: cap.payee?.merchant_id ?? unit.payee?.merchant_id,
      };
    }
    if (cap.status === 'PENDING') return { status: 'pending' };
    return { status: 'failed', reason: `paypal capture ${cap.status ?? 'unknown'}` };
  };

  /** Captures an approved order (the merchant's half of PayPal's two steps). */
  const complete = async (id: string, req: CaptureRequest): Promise<CaptureLookup> => {
    const a = await call<PaypalOrder>('POST', `${orderPath(id)}/capture`, {}, captureHeaders(req));
    if (a.status === 200 || a.status === 201) return captured(a.json, req) ?? { status: 'pending' };
    const issue = issueOf(a.json);
    if (a.status === 422) {
      if (issue === 'ORDER_ALREADY_CAPTURED') {
        const order = await getOrder(id);
        return (order && captured(order, req)) ?? { status: 'pending' };
      }
      if (issue === 'ORDER_COMPLETION_IN_PROGRESS') return { status: 'pending' };
      if (DECLINE_ISSUES.has(issue)) return { status: 'failed', reason: `paypal declined: ${issue}` };
      if (issue === 'ORDER_EXPIRED') return { status: 'failed', reason: 'paypal order expired' };
      // Only a shop's order can be unapproved here; ours was seen APPROVED just before.
      if (issue === 'ORDER_NOT_APPROVED' && !isToken(req)) return { status: 'pending' };
    }
    throw rejected('capture', a);
  };

  /** Where an order stands for our payment; an approved order bound to our reference and amount is captured. */
  const settle = async (order: PaypalOrder, req: CaptureRequest): Promise<CaptureLookup> => {
    const known = captured(order, req);
    if (known) return known;
    if (order.status === 'VOIDED') return { status: 'failed', reason: 'paypal order VOIDED' };
    const unit = order.purchase_units?.[0];
    const bound = unit?.custom_id === req.reference && asksOurAmount(unit, req);
    // A shop's order not bound yet: nothing of ours happened to it, `capture` binds and captures it.
    if (isToken(req) && !bound) return { status: 'not_found' };
    if (order.status === 'APPROVED') return bound ? complete(order.id ?? '', req) : { status: 'failed', reason: 'paypal order asks another amount' };
    if (order.status === 'COMPLETED') return { status: 'failed', reason: 'paypal order completed without a capture' };
    return { status: 'pending' };
  };

  const captureResult = (found: CaptureLookup, what: string): Capture => {
    if (found.status === 'captured') return found;
    if (found.status === 'failed') {
      throw new PermanentError(found.reason === FOREIGN ? 'provider_rejected' : 'payment_declined', `paypal ${what}: ${found.reason}`);
    }
    throw new TransientError('provider_unavailable', `paypal ${what}: capture ${found.status}`, { ambiguous: true });
  };

  /** Flow `redirect`: the order the buyer approves at PayPal; a retry answers the same order. */
  const openOrder = async (req: CaptureRequest): Promise<Capture | ActionRequired> => {
    const experience = { user_action: 'PAY_NOW', ...(req.returnUrl ? { return_url: req.returnUrl, cancel_url: req.returnUrl } : {}) };
    const unit = {
      reference_id: 'default', custom_id: req.reference, invoice_id: req.reference, amount: amountOf(req),
      ...(req.description ? { description: req.description.slice(0, 127) } : {}),
      ...(req.merchant ? { payee: { merchant_id: req.merchant } } : {}),
    };
    const a = await call<PaypalOrder>('POST', '/v2/checkout/orders',
      { intent: 'CAPTURE', purchase_units: [unit], payment_source: { paypal: { experience_context: experience } } },
      { 'PayPal-Request-Id': `order-${req.reference}`, Prefer: 'return=representation' });
    if ((a.status !== 200 && a.status !== 201) || !a.json.id) throw rejected('order create', a);
    const order = a.json;
    if (order.status && OPEN.has(order.status)) {
      const url = order.links?.find((l) => l.rel === 'payer-action' || l.rel === 'approve')?.href;
      if (!url) throw rejected('order create (no approve link)', a);
      return { status: 'action_required', action: { type: 'redirect', url }, trade: order.id };
    }
    // A retry after the buyer approved (or after we captured): finish it.
    return captureResult(await settle(order, { ...req, trade: order.id }), 'capture');
  };

  /**
   * Flow `token`: binds the shop's approved order to our reference and amount, PATCHing only what is still
   * needed when a retry or a concurrent attempt bound it first (PayPal refuses an `add` of a present field).
   */
  const bind = async (id: string, req: CaptureRequest, retried = false): Promise<'bound' | 'completed'> => {
    const ops = retried
      ? [{ op: 'replace', path: `${UNIT}/amount`, value: amountOf(req) }]
      : [{ op: 'add', path: `${UNIT}/custom_id`, value: req.reference }, { op: 'replace', path: `${UNIT}/amount`, value: amountOf(req) }];
    const a = await call('PATCH', orderPath(id), ops);
    if (a.status >= 200 && a.status < 300) return 'bound';
    const issue = issueOf(a.json);
    // PayPal's answer to a PATCH of a captured order.
    if (a.status === 422 && issue === 'ORDER_ALREADY_COMPLETED') return 'completed';
    if (a.status === 422 && issue === 'INVALID_PATCH_OPERATION' && !retried) {
      const order = await getOrder(id);
      if (order?.status === 'COMPLETED') return 'completed';
      const unit = order?.purchase_units?.[0];
      if (unit?.custom_id && unit.custom_id !== req.reference) throw new PermanentError('provider_rejected', FOREIGN);
      if (unit?.custom_id === req.reference) return asksOurAmount(unit, req) ? 'bound' : bind(id, req, true);
    }
    throw rejected('order update', a);
  };

  const captureApproved = async (req: CaptureRequest): Promise<Capture> => {
    const id = orderIdFor(req);
    if ((await bind(id, req)) === 'completed') {
      const order = await getOrder(id);
      return captureResult((order && captured(order, req)) ?? { status: 'pending' }, 'capture');
    }
    return captureResult(await complete(id, req), 'capture');
  };

  return {
    method: 'paypal',
    platformMerchant: options.merchantId,
    capture: (req) => (isToken(req) ? captureApproved(req) : openOrder(req)),
    async lookup(req: CaptureRequest): Promise<CaptureLookup> {
      const id = orderOf(req);
      const order = id ? await getOrder(id) : undefined;
      return order ? settle(order, req) : { status: 'not_found' };
    },
    /**
     * PayPal has no call that closes an uncaptured checkout order: it can only be captured by us, and it
     * voids by itself when it expires. So closing is refusing to capture: an approved but uncaptured order is
     * never charged (approval moves no money), and we do not capture it here even though the buyer agreed,
     * because the order no longer wants the money. Only a capture that already happened is answered.
     */
    async close(req: CaptureRequest): Promise<CaptureLookup> {
      const id = orderOf(req);
      const order = id ? await getOrder(id) : undefined;
      if (!order) return { status: 'failed', reason: 'no trade' };
      return captured(order, req) ?? { status: 'failed', reason: 'closed unpaid' };
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
