import { randomUUID, timingSafeEqual } from 'node:crypto';
import { Router, type Response } from 'express';
import type { Logger } from '../../logger.js';
import { stripeSignatureHeader } from '../../payments/stripe.signing.js';
import type { SandboxCredentials } from '../sandbox-credentials.js';
import { bodyText, faultGate, hold, sendNotification } from './sandbox-http.js';
import { randomAlnum, type SandboxCharge, type SandboxLedger, type SandboxRefund } from './sandbox-ledger.js';

/** A Stripe-style API under `/card/v1`: PaymentIntents (create+confirm, search), refunds, signed webhooks. */
export function cardSandbox(deps: { ledger: SandboxLedger; credentials: SandboxCredentials['card']; webhookUrl?: string; logger?: Logger }): Router {
  const { ledger, credentials: c } = deps;
  const router = Router();
  const error = (res: Response, status: number, err: Record<string, unknown>) => res.status(status).json({ error: err });
  const intent = (ch: SandboxCharge) => ({
    id: ch.id, object: 'payment_intent', amount: ch.amountMinor, amount_received: ch.amountMinor, currency: ch.currency.toLowerCase(),
    status: 'succeeded', capture_method: 'automatic', confirmation_method: 'automatic', payment_method: ch.token, livemode: false,
    latest_charge: `ch_${ch.id.slice(3)}`, metadata: { order_id: ch.reference }, created: Math.floor(new Date(ch.createdAt).getTime() / 1000),
  });
  const refundObject = (r: SandboxRefund, ch: SandboxCharge) => ({
    id: r.id, object: 'refund', amount: r.amountMinor, currency: ch.currency.toLowerCase(), payment_intent: ch.id, charge: `ch_${ch.id.slice(3)}`,
    status: 'succeeded', metadata: r.details, created: Math.floor(new Date(r.createdAt).getTime() / 1000),
  });

  router.use(faultGate(ledger, 'card', (res, status) =>
    error(res, status, status === 429 ? { message: 'Request rate limit exceeded.', code: 'rate_limit' } : { type: 'api_error', message: 'An unknown error occurred' })));
  router.use((req, res, next) => {
    const got = Buffer.from(/^Bearer (.+)$/.exec(req.get('authorization') ?? '')?.[1] ?? '');
    const want = Buffer.from(c.secretKey);
    if (got.length === want.length && timingSafeEqual(got, want)) return next();
    error(res, 401, { type: 'invalid_request_error', message: 'Invalid API Key provided.' });
  });

  router.post('/v1/payment_intents', async (req, res) => {
    const f = new URLSearchParams(bodyText(req));
    const reference = f.get('metadata[order_id]');
    const amount = Number(f.get('amount'));
    const currency = f.get('currency') ?? '';
    if (!reference || !Number.isSafeInteger(amount) || amount <= 0 || !/^[a-z]{3}$/.test(currency) || !f.get('payment_method') || f.get('confirm') !== 'true') {
      return error(res, 400, { type: 'invalid_request_error', code: 'parameter_missing', message: 'amount, currency (lower case), payment_method, confirm=true and metadata[order_id] are required' });
    }
    const key = req.get('idempotency-key');
    const out = await ledger.capture({
      method: 'card', reference, token: f.get('payment_method')!, amountMinor: amount, currency,
      newId: () => `pi_${randomAlnum(24)}`, idempotencyKey: key,
    });
    if (out.kind === 'mismatch' && out.byKey) {
      return error(res, 400, { type: 'idempotency_error', message: 'Keys for idempotent requests can only be used with the same parameters they were first used with.' });
    }
    if (out.kind === 'unavailable') return error(res, 503, { type: 'api_error', message: 'The service is temporarily unavailable.' });
    if (out.kind === 'declined') {
      return error(res, 402, { type: 'card_error', code: 'card_declined', decline_code: 'generic_decline', message: 'Your card was declined.', param: 'payment_method' });
    }
    if (out.kind === 'mismatch') {
      return error(res, 400, { type: 'idempotency_error', message: 'This order was already charged with different parameters.' });
    }
    if (!out.replay && deps.webhookUrl) notify(deps.webhookUrl, out.charge);
    if (out.hang) return hold(res);
    if (out.replay && key && out.charge.details.idempotencyKey === key) res.set('Idempotent-Replayed', 'true');
    res.json(intent(out.charge));
  });

  router.get('/v1/payment_intents/search', async (req, res) => {
    const m = /^metadata\['order_id'\]:'((?:[^'\\]|\\.)*)'$/.exec(String(req.query.query ?? ''));
    if (!m) return error(res, 400, { type: 'invalid_request_error', message: "the sandbox searches by metadata['order_id']:'...' only" });
    const ch = await ledger.findCharge('card', m[1]!.replace(/\\(.)/g, '$1'));
    res.json({ object: 'search_result', url: '/v1/payment_intents/search', has_more: false, next_page: null, data: ch ? [intent(ch)] : [] });
  });

  router.post('/v1/refunds', async (req, res) => {
    const f = new URLSearchParams(bodyText(req));
    const ch = await ledger.findChargeById('card', f.get('payment_intent') ?? '');
    if (!ch) return error(res, 404, { type: 'invalid_request_error', code: 'resource_missing', param: 'payment_intent', message: 'No such payment_intent' });
    const amount = f.has('amount') ? Number(f.get('amount')) : ch.amountMinor - ch.refundedMinor;
    if (!Number.isSafeInteger(amount)) return error(res, 400, { type: 'invalid_request_error', code: 'parameter_invalid_integer', param: 'amount', message: 'Invalid integer' });
    const metadata = Object.fromEntries([...f].filter(([k]) => k.startsWith('metadata[')).map(([k, v]) => [k.slice(9, -1), v]));
    const out = await ledger.refund({
      method: 'card', chargeId: ch.id, refundKey: req.get('idempotency-key') || randomUUID(), amountMinor: amount,
      newId: () => `re_${randomAlnum(24)}`, details: metadata,
    });
    if (out.kind === 'exceeded') {
      const code = ch.status === 'refunded' ? 'charge_already_refunded' : 'amount_too_large';
      return error(res, 400, { type: 'invalid_request_error', code, param: 'amount', message: `Refund amount (${amount}) is greater than unrefunded amount on charge (${ch.amountMinor - ch.refundedMinor})` });
    }
    if (out.kind === 'mismatch') {
      return error(res, 400, { type: 'idempotency_error', message: 'Keys for idempotent requests can only be used with the same parameters they were first used with.' });
    }
    if (out.replay) res.set('Idempotent-Replayed', 'true');
    res.json(refundObject(out.refund, out.charge));
  });

  router.get('/v1/refunds', async (req, res) => {
    const ch = await ledger.findChargeById('card', String(req.query.payment_intent ?? ''));
    const data = ch ? (await ledger.refundsOf(ch.id)).map((r) => refundObject(r, ch)) : [];
    res.json({ object: 'list', url: '/v1/refunds', has_more: false, data });
  });

  const notify = (url: string, ch: SandboxCharge) =>
    sendNotification(url, () => {
      const body = JSON.stringify({
        id: `evt_${randomAlnum(24)}`, object: 'event', api_version: '2024-06-20', created: Math.floor(Date.now() / 1000),
        type: 'payment_intent.succeeded', livemode: false, data: { object: intent(ch) },
      });
      return { body, headers: { 'content-type': 'application/json', 'stripe-signature': stripeSignatureHeader(c.webhookSecret, body) } };
    }, deps.logger);

  return router;
}
