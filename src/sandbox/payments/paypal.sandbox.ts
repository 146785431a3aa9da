import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { Router, type Request, type RequestHandler, type Response } from 'express';
import type { Logger } from '../../logger.js';
import { parseDecimal } from '../../payments/decimal-amount.js';
import { parseJson } from '../../payments/provider-http.js';
import { rawJsonMembers } from '../../payments/raw-json.js';
import { rsaVerify } from '../../payments/rsa.js';
import type { SandboxCredentials } from '../sandbox-credentials.js';
import { applyPatch } from './paypal-patch.js';
import {
  paypalAmount, paypalCapture, paypalCheckout, paypalEvents, paypalOrder, paypalOrderId, paypalPlatformMerchant,
} from './paypal-order.js';
import { bodyText, faultGate, hold, sandboxBaseOf, type ProviderCheckout } from './sandbox-http.js';
import type { SandboxLedger } from './sandbox-ledger.js';
import { isPaid, randomAlnum, type SandboxRefund, type SandboxTrade } from './sandbox-trade.js';

/**
 * PayPal REST under `/paypal`: OAuth, Orders v2 (create with an approve link to the checkout page, get,
 * PATCH with PayPal's add/replace rules, capture), captures and their refunds, webhook verification.
 * An order id `{script}~{anything}` (tok_ok~...) is an order the shop's own page had its buyer approve.
 */

/** A request body as sent: every field is checked before it is used. */
type Body = Record<string, any>;
const ORDER_VALID_MS = 3 * 3600_000;
const SCRIPT_ORDER = /^(tok_[A-Za-z0-9_]+)~.+$/;

export function paypalSandbox(deps: { ledger: SandboxLedger; credentials: SandboxCredentials['paypal']; webhookUrl?: string; logger?: Logger }): { router: Router; checkout: ProviderCheckout } {
  const { ledger, credentials: c } = deps;
  const events = paypalEvents(c, deps.webhookUrl, deps.logger);
  const checkout = paypalCheckout(events);
  const router = Router();
  const problem = (res: Response, status: number, name: string, issue: string, message: string, field?: string) =>
    res.status(status).json({ name, message, debug_id: randomAlnum(13).toLowerCase(), details: [{ ...(field ? { field } : {}), issue, description: message }], links: [] });
  const invalid = (res: Response, field: string, issue: string, message: string) => problem(res, 400, 'INVALID_REQUEST', issue, message, field);
  const unprocessable = (res: Response, issue: string, message: string) => problem(res, 422, 'UNPROCESSABLE_ENTITY', issue, message);
  const notFound = (res: Response) => problem(res, 404, 'RESOURCE_NOT_FOUND', 'INVALID_RESOURCE_ID', 'Specified resource ID does not exist. Please check the resource ID and try again.');
  const minimal = (req: Request) => !/return=representation/.test(req.get('prefer') ?? '');
  const orderAnswer = (req: Request, res: Response, status: number, t: SandboxTrade) => {
    const order = paypalOrder(t);
    return res.status(status).json(minimal(req) ? { id: order.id, status: order.status, links: order.links } : order);
  };
  const platform = paypalPlatformMerchant(c);

  // Stateless access tokens (HMAC under the client secret), so every web process accepts every other's.
  const mac = (payload: string) => createHmac('sha256', c.clientSecret).update(payload).digest('base64url');
  const issueToken = (expiresIn: number) => {
    const payload = Buffer.from(JSON.stringify({ exp: Date.now() + expiresIn * 1000 })).toString('base64url');
    return `A21AA${payload}.${mac(payload)}`;
  };
  const validToken = (token: string | undefined) => {
    const m = /^A21AA([\w-]+)\.([\w-]+)$/.exec(token ?? '');
    if (!m || m[2]!.length !== mac(m[1]!).length || !timingSafeEqual(Buffer.from(m[2]!), Buffer.from(mac(m[1]!)))) return false;
    return (parseJson<{ exp?: number }>(Buffer.from(m[1]!, 'base64url').toString())?.exp ?? 0) > Date.now();
  };

  router.use(faultGate(ledger, 'paypal', (res, status) =>
    status === 429 ? problem(res, 429, 'RATE_LIMIT_REACHED', 'RATE_LIMIT_REACHED', 'Too many requests') : problem(res, 500, 'INTERNAL_SERVER_ERROR', 'INTERNAL_SERVER_ERROR', 'An internal server error occurred')));

  router.post('/v1/oauth2/token', (req, res) => {
    const expected = `Basic ${Buffer.from(`${c.clientId}:${c.clientSecret}`).toString('base64')}`;
    const got = req.get('authorization') ?? '';
    if (got.length !== expected.length || !timingSafeEqual(Buffer.from(got), Buffer.from(expected))) {
      return res.status(401).json({ error: 'invalid_client', error_description: 'Client Authentication failed' });
    }
    if (new URLSearchParams(bodyText(req)).get('grant_type') !== 'client_credentials') {
      return res.status(400).json({ error: 'unsupported_grant_type', error_description: 'Grant Type is NULL' });
    }
    const expiresIn = 32_400;
    res.json({ scope: 'https://uri.paypal.com/services/payments/payment', access_token: issueToken(expiresIn), token_type: 'Bearer', app_id: 'APP-SANDBOX', expires_in: expiresIn, nonce: randomUUID() });
  });

  const bearer: RequestHandler = (req, res, next) =>
    validToken(/^Bearer (.+)$/.exec(req.get('authorization') ?? '')?.[1])
      ? next()
      : problem(res, 401, 'AUTHENTICATION_FAILURE', 'AUTHENTICATION_FAILURE', 'Authentication failed due to invalid authentication credentials or a missing Authorization header.');
  router.use(bearer);

  /** The order of `id`; an unknown `{script}~...` id is an order the shop's page had approved, met here first. */
  const order = async (res: Response, id: string, materialise = false): Promise<SandboxTrade | undefined> => {
    const known = await ledger.findTrade('paypal', id);
    const script = SCRIPT_ORDER.exec(id)?.[1];
    if (known || !materialise || !script) return known;
    const opened = await ledger.open({
      method: 'paypal', reference: '', tradeKey: id, flow: 'paypal_order', merchant: platform, requestedMinor: 0, currency: 'USD',
      newId: () => randomAlnum(17, true), newCheckoutRef: () => id, token: script, approved: true,
      expiresAt: new Date(Date.now() + ORDER_VALID_MS), details: { base: sandboxBaseOf(res) },
    });
    return opened.trade;
  };

  router.post('/v2/checkout/orders', async (req, res) => {
    const b = parseJson<Body>(bodyText(req));
    if (!b || typeof b !== 'object') return problem(res, 400, 'INVALID_REQUEST', 'MALFORMED_REQUEST_JSON', 'The request JSON is not well formed.');
    if (b.intent !== 'CAPTURE') return invalid(res, '/intent', 'INVALID_PARAMETER_VALUE', 'The sandbox takes intent CAPTURE.');
    const units = b.purchase_units;
    if (!Array.isArray(units) || units.length !== 1) return invalid(res, '/purchase_units', 'INVALID_PARAMETER_VALUE', 'The sandbox takes exactly one purchase unit.');
    const u: Body = units[0] ?? {};
    const currency = u.amount?.currency_code;
    if (typeof currency !== 'string' || !/^[A-Z]{3}$/.test(currency)) return invalid(res, '/purchase_units/@reference_id==\'default\'/amount/currency_code', 'MISSING_REQUIRED_PARAMETER', 'A currency code is required.');
    let requestedMinor: number;
    try {
      requestedMinor = parseDecimal(String(u.amount?.value ?? ''), currency);
    } catch {
      return invalid(res, '/purchase_units/@reference_id==\'default\'/amount/value', 'INVALID_PARAMETER_VALUE', 'The amount value is not a decimal for its currency.');
    }
    if (typeof u.custom_id === 'string' && u.custom_id.length > 127) return invalid(res, '/purchase_units/@reference_id==\'default\'/custom_id', 'INVALID_STRING_MAX_LENGTH', 'custom_id is longer than 127 characters.');
    const experience: Body = b.payment_source?.paypal?.experience_context ?? b.application_context ?? {};
    const requestId = req.get('paypal-request-id') || undefined;
    const id = paypalOrderId(requestId);
    const opened = await ledger.open({
      method: 'paypal', reference: typeof u.custom_id === 'string' ? u.custom_id : '', tradeKey: id, flow: 'paypal_order',
      merchant: typeof u.payee?.merchant_id === 'string' && u.payee.merchant_id ? u.payee.merchant_id : platform,
      requestedMinor, currency, newId: () => randomAlnum(17, true), newCheckoutRef: () => id, expiresAt: new Date(Date.now() + ORDER_VALID_MS),
      details: {
        base: sandboxBaseOf(res), reference_id: typeof u.reference_id === 'string' ? u.reference_id : 'default',
        ...(typeof u.invoice_id === 'string' ? { invoice_id: u.invoice_id } : {}), ...(typeof u.description === 'string' ? { description: u.description } : {}),
        ...(typeof experience.return_url === 'string' ? { return_url: experience.return_url } : {}),
        ...(typeof experience.cancel_url === 'string' ? { cancel_url: experience.cancel_url } : {}),
        ...(b.payment_source?.paypal ? { payer_action: 'true' } : {}),
      },
    });
    // The same PayPal-Request-Id again answers the order it first created.
    return orderAnswer(req, res, opened.created ? 201 : 200, opened.trade);
  });

  router.get('/v2/checkout/orders/:id', async (req, res) => {
    const t = await order(res, String(req.params.id));
    return t ? res.json(paypalOrder(t)) : notFound(res);
  });

  router.patch('/v2/checkout/orders/:id', async (req, res) => {
    const t = await order(res, String(req.params.id), true);
    if (!t) return notFound(res);
    if (isPaid(t)) return unprocessable(res, 'ORDER_ALREADY_COMPLETED', 'The order cannot be patched after it is completed.');
    if (t.status === 'closed') return unprocessable(res, 'ORDER_EXPIRED', 'The order has expired.');
    const ops = parseJson<unknown>(bodyText(req));
    const patched = applyPatch(t, ops);
    if ('issue' in patched) return patched.status === 400 ? invalid(res, patched.field ?? '', patched.issue, patched.message) : unprocessable(res, patched.issue, patched.message);
    await ledger.updateTrade(t.id, patched);
    return res.status(204).end();
  });

  router.post('/v2/checkout/orders/:id/capture', async (req, res) => {
    const t = await order(res, String(req.params.id));
    if (!t) return notFound(res);
    const requestId = req.get('paypal-request-id') ?? '';
    if (!isPaid(t) && t.approvedAt) {
      if (t.token === 'tok_decline') return unprocessable(res, 'INSTRUMENT_DECLINED', 'The instrument presented was either declined by the processor or bank, or it cannot be used for this payment.');
      if (t.token === 'tok_flaky' && (await ledger.countAttempt('paypal', t.tradeKey)) <= 2) return problem(res, 503, 'SERVICE_UNAVAILABLE', 'SERVICE_UNAVAILABLE', 'Service Unavailable.');
    }
    const out = await ledger.captureApproved(t.id, requestId);
    if (out.kind === 'not_approved') return unprocessable(res, 'ORDER_NOT_APPROVED', 'Payer has not yet approved the Order for payment.');
    if (out.kind === 'expired') return unprocessable(res, 'ORDER_EXPIRED', 'The order has expired.');
    // A replay under the first PayPal-Request-Id answers the first result again; any other call is a second capture.
    if (!out.fresh && !out.replay) return unprocessable(res, 'ORDER_ALREADY_CAPTURED', 'Order already captured.');
    if (out.fresh) events.captureCompleted(out.trade);
    if (out.fresh && out.trade.token === 'tok_timeout') return hold(res);
    return orderAnswer(req, res, out.fresh ? 201 : 200, out.trade);
  });

  const refundBody = (r: SandboxRefund, t: SandboxTrade) => ({
    id: r.id, status: 'COMPLETED', amount: paypalAmount(r.amountMinor, t.currency), custom_id: r.details.customId, create_time: new Date(r.createdAt).toISOString(),
  });
  const capturedTrade = async (id: string) => {
    const t = await ledger.findChargeById('paypal', id);
    return t && isPaid(t) ? t : undefined;
  };

  router.get('/v2/payments/captures/:id', async (req, res) => {
    const t = await capturedTrade(String(req.params.id));
    return t ? res.json(paypalCapture(t, t.tradeKey)) : notFound(res);
  });

  router.post('/v2/payments/captures/:id/refund', async (req, res) => {
    const t = await capturedTrade(String(req.params.id));
    if (!t) return notFound(res);
    const b = parseJson<{ amount?: { value?: string }; custom_id?: string }>(bodyText(req)) ?? {};
    const minor = b.amount?.value ? parseDecimal(b.amount.value, t.currency) : t.amountMinor - t.refundedMinor;
    const out = await ledger.refund({
      method: 'paypal', chargeId: t.id, refundKey: req.get('paypal-request-id') || randomUUID(), amountMinor: minor,
      newId: () => randomAlnum(17, true), details: b.custom_id ? { customId: b.custom_id } : {},
    });
    if (out.kind === 'exceeded' || out.kind === 'not_paid') {
      const issue = t.status === 'refunded' ? 'CAPTURE_FULLY_REFUNDED' : 'REFUND_AMOUNT_EXCEEDED';
      return unprocessable(res, issue, 'The refund amount must be less than or equal to the capture amount that has not yet been refunded.');
    }
    // PayPal answers a reused PayPal-Request-Id with the first request's result, whatever the new body says.
    res.status(out.kind === 'refunded' && !out.replay ? 201 : 200).json(refundBody(out.refund, out.charge));
  });

  router.post('/v1/notifications/verify-webhook-signature', (req, res) => {
    const text = bodyText(req);
    const b = parseJson<Record<string, unknown>>(text) ?? {};
    // As PayPal does: the CRC is over the event's text as the caller sent it, so a caller that parsed and
    // serialised the event again (other whitespace, key order or escapes) fails, as it would at PayPal.
    const event = rawJsonMembers(text)?.get('webhook_event') ?? 'null';
    const message = `${b.transmission_id}|${b.transmission_time}|${b.webhook_id}|${crc32(event)}`;
    const ok = b.webhook_id === c.webhookId && b.auth_algo === 'SHA256withRSA' && typeof b.transmission_sig === 'string' && rsaVerify(message, b.transmission_sig, c.webhookPublicKey);
    res.json({ verification_status: ok ? 'SUCCESS' : 'FAILURE' });
  });

  return { router, checkout };
}
