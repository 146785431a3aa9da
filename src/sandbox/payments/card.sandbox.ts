import { randomUUID, timingSafeEqual } from 'node:crypto';
import { Router, type Request, type Response } from 'express';
import type { Logger } from '../../logger.js';
import type { SandboxCredentials } from '../sandbox-credentials.js';
import { cardCheckout, cardEvents, cardIntent, cardPlatformAccount, cardRefund } from './card-intent.js';
import { bodyText, faultGate, hold, sandboxBaseOf, type ProviderCheckout } from './sandbox-http.js';
import { tradeKeyOf, type SandboxLedger } from './sandbox-ledger.js';
import { isPaid, randomAlnum, type SandboxTrade } from './sandbox-trade.js';

/**
 * A Stripe-style API under `/card/v1`: PaymentIntents (create+confirm; tok_3ds asks for 3-D Secure on the
 * checkout page; get, search, cancel), refunds, signed webhooks. `Stripe-Account` acts for a connected
 * account, which alone sees its intents.
 */
export function cardSandbox(deps: { ledger: SandboxLedger; credentials: SandboxCredentials['card']; webhookUrl?: string; logger?: Logger }): { router: Router; checkout: ProviderCheckout } {
  const { ledger, credentials: c } = deps;
  const emit = cardEvents(c, deps.webhookUrl, deps.logger);
  const checkout = cardCheckout(emit);
  const platform = cardPlatformAccount(c);
  const router = Router();
  const error = (res: Response, status: number, err: Record<string, unknown>) => res.status(status).json({ error: err });
  const account = (req: Request) => req.get('stripe-account') || platform;
  const missing = (res: Response, what: string, param: string) =>
    error(res, 404, { type: 'invalid_request_error', code: 'resource_missing', param, message: `No such ${what}` });
  const reused = (res: Response) =>
    error(res, 400, { type: 'idempotency_error', message: 'Keys for idempotent requests can only be used with the same parameters they were first used with.' });
  /** The intent `id` if it is this account's: another account's intents do not exist for it. */
  const intentOf = async (req: Request, id: string) => {
    const t = await ledger.findChargeById('card', id);
    return t && (t.merchant === account(req) || (t.merchant === '' && account(req) === platform)) ? t : undefined;
  };

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
    const token = f.get('payment_method') ?? '';
    if (!reference || !Number.isSafeInteger(amount) || amount <= 0 || !/^[a-z]{3}$/.test(currency) || !token || f.get('confirm') !== 'true') {
      return error(res, 400, { type: 'invalid_request_error', code: 'parameter_missing', message: 'amount, currency (lower case), payment_method, confirm=true and metadata[order_id] are required' });
    }
    const key = req.get('idempotency-key') || undefined;
    const merchant = account(req);
    if (token === 'tok_3ds') {
      const returnUrl = f.get('return_url');
      const opened = await ledger.open({
        method: 'card', reference, tradeKey: tradeKeyOf({ reference, idempotencyKey: key }), flow: 'payment_intent', merchant, requestedMinor: amount, currency,
        newId: () => `pi_${randomAlnum(24)}`, newCheckoutRef: () => `pi3ds_${randomAlnum(24)}`, token,
        details: { base: sandboxBaseOf(res), ...(returnUrl ? { return_url: returnUrl } : {}), ...(key ? { idempotencyKey: key } : {}), ...(f.get('description') ? { description: f.get('description')! } : {}) },
      });
      const t = opened.trade;
      const same = t.reference === reference && t.requestedMinor === amount && t.currency === currency.toUpperCase() && t.token === token && t.merchant === merchant;
      if (!opened.created && !same) return reused(res);
      if (!opened.created) res.set('Idempotent-Replayed', 'true');
      return res.json(cardIntent(t));
    }
    const out = await ledger.capture({
      method: 'card', reference, token, amountMinor: amount, currency, newId: () => `pi_${randomAlnum(24)}`, idempotencyKey: key, merchant, flow: 'payment_intent',
      details: f.get('description') ? { description: f.get('description')! } : {},
    });
    if (out.kind === 'mismatch' && out.byKey) return reused(res);
    if (out.kind === 'unavailable') return error(res, 503, { type: 'api_error', message: 'The service is temporarily unavailable.' });
    if (out.kind === 'declined') {
      return error(res, 402, { type: 'card_error', code: 'card_declined', decline_code: 'generic_decline', message: 'Your card was declined.', param: 'payment_method' });
    }
    if (out.kind === 'mismatch') return error(res, 400, { type: 'idempotency_error', message: 'This order was already charged with different parameters.' });
    if (out.kind === 'closed' || out.kind === 'pending') return res.json(cardIntent(out.charge));
    if (!out.replay) emit('payment_intent.succeeded', out.charge);
    if (out.hang) return hold(res);
    if (out.replay && key && out.charge.details.idempotencyKey === key) res.set('Idempotent-Replayed', 'true');
    res.json(cardIntent(out.charge));
  });

  router.get('/v1/payment_intents/search', async (req, res) => {
    const m = /^metadata\['order_id'\]:'((?:[^'\\]|\\.)*)'$/.exec(String(req.query.query ?? ''));
    if (!m) return error(res, 400, { type: 'invalid_request_error', message: "the sandbox searches by metadata['order_id']:'...' only" });
    const reference = m[1]!.replace(/\\(.)/g, '$1');
    const mine = (t: SandboxTrade) => t.method === 'card' && t.reference === reference && (t.merchant === account(req) || (t.merchant === '' && account(req) === platform));
    const data = (await ledger.chargesByReference(reference)).filter(mine).map(cardIntent);
    res.json({ object: 'search_result', url: '/v1/payment_intents/search', has_more: false, next_page: null, data });
  });

  router.get('/v1/payment_intents/:id', async (req, res) => {
    const t = await intentOf(req, String(req.params.id));
    return t ? res.json(cardIntent(t)) : missing(res, `payment_intent: '${req.params.id}'`, 'intent');
  });

  router.post('/v1/payment_intents/:id/cancel', async (req, res) => {
    const t = await intentOf(req, String(req.params.id));
    if (!t) return missing(res, `payment_intent: '${req.params.id}'`, 'intent');
    const r = await ledger.closeTrade(t.id);
    if (!r.closed) {
      const status = r.trade ? cardIntent(r.trade).status : 'unknown';
      return error(res, 400, {
        type: 'invalid_request_error', code: 'payment_intent_unexpected_state', payment_intent: r.trade && cardIntent(r.trade),
        message: `You cannot cancel this PaymentIntent because it has a status of ${status}.`,
      });
    }
    const reason = new URLSearchParams(bodyText(req)).get('cancellation_reason');
    const closed = reason ? await ledger.updateTrade(t.id, { details: { cancellation_reason: reason } }) : r.trade!;
    emit('payment_intent.canceled', closed);
    res.json(cardIntent(closed));
  });

  router.post('/v1/refunds', async (req, res) => {
    const f = new URLSearchParams(bodyText(req));
    const t = await intentOf(req, f.get('payment_intent') ?? '');
    if (!t) return missing(res, 'payment_intent', 'payment_intent');
    const amount = f.has('amount') ? Number(f.get('amount')) : t.amountMinor - t.refundedMinor;
    if (!Number.isSafeInteger(amount)) return error(res, 400, { type: 'invalid_request_error', code: 'parameter_invalid_integer', param: 'amount', message: 'Invalid integer' });
    const metadata = Object.fromEntries([...f].filter(([k]) => k.startsWith('metadata[')).map(([k, v]) => [k.slice(9, -1), v]));
    const out = await ledger.refund({
      method: 'card', chargeId: t.id, refundKey: req.get('idempotency-key') || randomUUID(), amountMinor: amount,
      newId: () => `re_${randomAlnum(24)}`, details: metadata,
    });
    if (out.kind === 'not_paid') {
      return error(res, 400, { type: 'invalid_request_error', code: 'charge_not_refundable', param: 'payment_intent', message: 'This PaymentIntent does not have a successful charge to refund.' });
    }
    if (out.kind === 'exceeded') {
      const code = t.status === 'refunded' ? 'charge_already_refunded' : 'amount_too_large';
      return error(res, 400, { type: 'invalid_request_error', code, param: 'amount', message: `Refund amount (${amount}) is greater than unrefunded amount on charge (${t.amountMinor - t.refundedMinor})` });
    }
    if (out.kind === 'mismatch') return reused(res);
    if (out.replay) res.set('Idempotent-Replayed', 'true');
    res.json(cardRefund(out.refund, out.charge));
  });

  router.get('/v1/refunds', async (req, res) => {
    const t = await intentOf(req, String(req.query.payment_intent ?? ''));
    const data = t && isPaid(t) ? (await ledger.refundsOf(t.id)).map((r) => cardRefund(r, t)) : [];
    res.json({ object: 'list', url: '/v1/refunds', has_more: false, data });
  });

  return { router, checkout };
}
