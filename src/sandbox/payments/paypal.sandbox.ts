import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { Router, type RequestHandler, type Response } from 'express';
import type { Logger } from '../../logger.js';
import { formatDecimal, parseDecimal } from '../../payments/decimal-amount.js';
import { parseJson } from '../../payments/provider-http.js';
import { rsaSign, rsaVerify } from '../../payments/rsa.js';
import type { SandboxCredentials } from '../sandbox-credentials.js';
import { bodyText, faultGate, hold, sendNotification } from './sandbox-http.js';
import { randomAlnum, type SandboxCharge, type SandboxLedger, type SandboxRefund } from './sandbox-ledger.js';

/**
 * PayPal REST under `/paypal`: OAuth, PATCH + capture of an approved order, order lookup, capture refunds,
 * and webhook verification. Any order id counts as approved by its buyer; its script is the part before `~`.
 */
export function paypalSandbox(deps: { ledger: SandboxLedger; credentials: SandboxCredentials['paypal']; webhookUrl?: string; logger?: Logger }): Router {
  const { ledger, credentials: c } = deps;
  const router = Router();
  const problem = (res: Response, status: number, name: string, issue: string, message: string) =>
    res.status(status).json({ name, message, debug_id: randomAlnum(13).toLowerCase(), details: [{ issue, description: message }], links: [] });
  const amount = (minor: number, currency: string) => ({ currency_code: currency, value: formatDecimal(minor, currency) });
  const capture = (ch: SandboxCharge) => ({
    id: ch.id, status: ch.status === 'captured' ? 'COMPLETED' : ch.status.toUpperCase(), amount: amount(ch.amountMinor, ch.currency),
    custom_id: ch.reference, final_capture: true, create_time: new Date(ch.createdAt).toISOString(),
    supplementary_data: { related_ids: { order_id: ch.details.orderId } },
  });
  const order = (o: { id: string; reference: string; amountMinor: number; currency: string }, ch?: SandboxCharge) => ({
    id: o.id, intent: 'CAPTURE', status: ch ? 'COMPLETED' : 'APPROVED',
    purchase_units: [{ reference_id: 'default', custom_id: o.reference, amount: amount(o.amountMinor, o.currency), ...(ch ? { payments: { captures: [capture(ch)] } } : {}) }],
  });
  const refundBody = (r: SandboxRefund, ch: SandboxCharge) => ({
    id: r.id, status: 'COMPLETED', amount: amount(r.amountMinor, ch.currency), custom_id: r.details.customId, create_time: new Date(r.createdAt).toISOString(),
  });

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

  router.patch('/v2/checkout/orders/:id', async (req, res) => {
    const ops = parseJson<Array<{ path?: string; value?: unknown }>>(bodyText(req));
    const customId = ops?.find((o) => o.path?.endsWith('/custom_id'))?.value;
    const amt = ops?.find((o) => o.path?.endsWith('/amount'))?.value as { currency_code?: string; value?: string } | undefined;
    if (typeof customId !== 'string' || !amt?.currency_code || !amt.value) return problem(res, 400, 'INVALID_REQUEST', 'MISSING_REQUIRED_PARAMETER', 'custom_id and amount are required');
    const id = String(req.params.id);
    const known = await ledger.findPaypalOrder(id);
    if (known && (await ledger.findCharge('paypal', known.reference))) return problem(res, 422, 'UNPROCESSABLE_ENTITY', 'ORDER_ALREADY_CAPTURED', 'Order already captured.');
    await ledger.savePaypalOrder({ id, reference: customId, amountMinor: parseDecimal(amt.value, amt.currency_code), currency: amt.currency_code });
    res.status(204).end();
  });

  router.post('/v2/checkout/orders/:id/capture', async (req, res) => {
    const o = await ledger.findPaypalOrder(String(req.params.id));
    if (!o) return problem(res, 404, 'RESOURCE_NOT_FOUND', 'INVALID_RESOURCE_ID', 'Specified resource ID does not exist.');
    const requestId = req.get('paypal-request-id') ?? '';
    const out = await ledger.capture({
      method: 'paypal', reference: o.reference, token: o.id.split('~')[0]!, amountMinor: o.amountMinor, currency: o.currency,
      newId: () => randomAlnum(17, true), details: { orderId: o.id, requestId },
    });
    if (out.kind === 'unavailable') return problem(res, 503, 'SERVICE_UNAVAILABLE', 'SERVICE_UNAVAILABLE', 'Service Unavailable.');
    if (out.kind === 'declined') return problem(res, 422, 'UNPROCESSABLE_ENTITY', 'INSTRUMENT_DECLINED', 'The instrument presented was either declined by the processor or bank, or it cannot be used for this payment.');
    // A replay under the first PayPal-Request-Id answers the first result again; any other call is a second capture.
    if (out.kind === 'mismatch' || (out.replay && (!requestId || out.charge.details.requestId !== requestId))) {
      return problem(res, 422, 'UNPROCESSABLE_ENTITY', 'ORDER_ALREADY_CAPTURED', 'Order already captured.');
    }
    if (!out.replay && deps.webhookUrl) notify(deps.webhookUrl, out.charge);
    if (out.hang) return hold(res);
    res.status(out.replay ? 200 : 201).json(order(o, out.charge));
  });

  router.get('/v2/checkout/orders/:id', async (req, res) => {
    const o = await ledger.findPaypalOrder(String(req.params.id));
    if (!o) return problem(res, 404, 'RESOURCE_NOT_FOUND', 'INVALID_RESOURCE_ID', 'Specified resource ID does not exist.');
    res.json(order(o, await ledger.findCharge('paypal', o.reference)));
  });

  router.post('/v2/payments/captures/:id/refund', async (req, res) => {
    const ch = await ledger.findChargeById('paypal', String(req.params.id));
    if (!ch) return problem(res, 404, 'RESOURCE_NOT_FOUND', 'INVALID_RESOURCE_ID', 'Specified resource ID does not exist.');
    const b = parseJson<{ amount?: { value?: string }; custom_id?: string }>(bodyText(req)) ?? {};
    const minor = b.amount?.value ? parseDecimal(b.amount.value, ch.currency) : ch.amountMinor - ch.refundedMinor;
    const out = await ledger.refund({
      method: 'paypal', chargeId: ch.id, refundKey: req.get('paypal-request-id') || randomUUID(), amountMinor: minor,
      newId: () => randomAlnum(17, true), details: b.custom_id ? { customId: b.custom_id } : {},
    });
    if (out.kind === 'exceeded') {
      const issue = ch.status === 'refunded' ? 'CAPTURE_FULLY_REFUNDED' : 'REFUND_AMOUNT_EXCEEDED';
      return problem(res, 422, 'UNPROCESSABLE_ENTITY', issue, 'The refund amount must be less than or equal to the capture amount that has not yet been refunded.');
    }
    // PayPal answers a reused PayPal-Request-Id with the first request's result, whatever the new body says.
    res.status(out.kind === 'refunded' && !out.replay ? 201 : 200).json(refundBody(out.refund, out.charge));
  });

  router.post('/v1/notifications/verify-webhook-signature', (req, res) => {
    const b = parseJson<Record<string, unknown>>(bodyText(req)) ?? {};
    const message = `${b.transmission_id}|${b.transmission_time}|${b.webhook_id}|${crc32(JSON.stringify(b.webhook_event ?? null))}`;
    const ok = b.webhook_id === c.webhookId && b.auth_algo === 'SHA256withRSA' && typeof b.transmission_sig === 'string' && rsaVerify(message, b.transmission_sig, c.webhookPublicKey);
    res.json({ verification_status: ok ? 'SUCCESS' : 'FAILURE' });
  });

  const notify = (url: string, ch: SandboxCharge) =>
    sendNotification(url, () => {
      const body = JSON.stringify({
        id: `WH-${randomAlnum(17, true)}`, event_version: '1.0', create_time: new Date().toISOString(), resource_type: 'capture',
        resource_version: '2.0', event_type: 'PAYMENT.CAPTURE.COMPLETED', summary: 'Payment completed', resource: capture(ch),
      });
      const id = randomUUID();
      const time = new Date().toISOString();
      return {
        body,
        headers: {
          'content-type': 'application/json', 'paypal-auth-algo': 'SHA256withRSA', 'paypal-cert-url': 'https://api.sandbox.paypal.com/v1/notifications/certs/CERT-sandbox',
          'paypal-transmission-id': id, 'paypal-transmission-time': time,
          'paypal-transmission-sig': rsaSign(`${id}|${time}|${c.webhookId}|${crc32(body)}`, c.webhookPrivateKey),
        },
      };
    }, deps.logger);

  return router;
}
