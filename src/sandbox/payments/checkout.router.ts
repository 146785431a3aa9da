import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { PaymentMethod } from '../../domain/order.js';
import type { Logger } from '../../logger.js';
import { formatDecimal } from '../../payments/decimal-amount.js';
import { checkoutPage } from './checkout-page.js';
import { bodyText, problemType, type BuyerAct, type ProviderCheckout } from './sandbox-http.js';
import type { SandboxLedger } from './sandbox-ledger.js';
import type { BuyerOutcome } from './sandbox-trades.js';
import { isPaid, type SandboxTrade } from './sandbox-trade.js';

/**
 * The hosted checkout page every QR code, redirect and 3-D Secure link of the sandbox leads to, and the
 * buyer's scripted side: `GET /checkout/{ref}` (HTML), `POST /checkout/{ref}/pay` (optional JSON
 * `{ "amountMinor", "currency" }` to pay something else than asked) and `POST /checkout/{ref}/decline`.
 * A form post from the page answers with a redirect (to the merchant's return URL when it gave one); any
 * other call answers JSON.
 */

const payInput = z.strictObject({
  amountMinor: z.number().int('must be whole minor units').positive('must be more than 0').max(Number.MAX_SAFE_INTEGER).optional(),
  currency: z.string().regex(/^[A-Za-z]{3}$/, 'must be an ISO 4217 code').optional(),
});

const REASONS: Record<Extract<BuyerOutcome, { kind: 'conflict' }>['reason'], string> = {
  paid: 'this trade is already paid',
  closed: 'this trade is closed: the merchant closed it or it was cancelled',
  expired: 'this trade has expired',
  approved: 'this order is already approved: the merchant captures it',
  declined: 'this payment attempt failed: the merchant has to start a new one',
};

export function checkoutRouter(deps: { ledger: SandboxLedger; providers: Record<PaymentMethod, ProviderCheckout>; logger?: Logger }): Router {
  const { ledger, providers } = deps;
  const router = Router();

  const fromForm = (req: Request) => (req.get('content-type') ?? '').startsWith('application/x-www-form-urlencoded');
  const problem = (res: Response, status: number, code: string, detail: string, errors?: Array<{ path: string; message: string }>) =>
    res.status(status).type('application/problem+json').send(JSON.stringify({
      type: problemType(code), title: status === 404 ? 'Not Found' : status === 409 ? 'Conflict' : 'Bad Request', status, detail, ...(errors ? { errors } : {}),
    }));
  const view = (t: SandboxTrade) => ({
    tradeRef: t.checkoutRef, method: t.method, reference: t.reference, merchant: t.merchant, status: t.status,
    providerStatus: providers[t.method].providerStatus(t), amountMinor: t.amountMinor, requestedMinor: t.requestedMinor, currency: t.currency,
  });

  router.get('/checkout/:ref', async (req, res) => {
    const ref = String(req.params.ref);
    const found = await ledger.findByCheckoutRef(ref);
    if (!found) return res.status(404).type('html').send(checkoutPage({ title: 'No such checkout', lines: [['Reference', ref]] }));
    // Opening the page is the buyer's scan: an Alipay QR trade exists from here on.
    if (!found.scannedAt && found.status === 'pending') await ledger.markScanned(ref);
    const t = { ...found, scannedAt: found.scannedAt ?? new Date() };
    const p = providers[t.method];
    const amount = isPaid(t) ? t.amountMinor : t.requestedMinor;
    const open = t.status === 'pending' && !(t.method === 'paypal' && t.approvedAt) && !(t.method === 'card' && t.declinedAt);
    const keep = typeof req.query.redirect_url === 'string' ? `?${new URLSearchParams({ redirect_url: req.query.redirect_url })}` : '';
    const self = encodeURIComponent(ref);
    res.type('html').send(checkoutPage({
      title: `${p.label} checkout`,
      lines: [
        ['Merchant', t.merchant], ['Description', t.details.subject ?? t.details.description ?? ''], ['Merchant reference', t.reference],
        ['Amount', `${formatDecimal(amount, t.currency)} ${t.currency}`], ['Status', p.providerStatus(t)],
      ],
      ...(open ? { actions: { pay: `${self}/pay${keep}`, decline: `${self}/decline${keep}`, payLabel: t.method === 'card' ? 'Complete authentication' : 'Pay' } } : {}),
      ...(notice(t) ? { notice: notice(t)! } : {}),
      ...(t.details.cancel_url && open ? { back: t.details.cancel_url } : {}),
    }));
  });

  const act = (kind: 'pay' | 'decline') => async (req: Request, res: Response) => {
    const ref = String(req.params.ref);
    const form = fromForm(req);
    let paid: z.infer<typeof payInput> = {};
    if (kind === 'pay' && !form && bodyText(req).trim() !== '') {
      let json: unknown;
      try {
        json = JSON.parse(bodyText(req));
      } catch {
        return problem(res, 400, 'malformed_json', 'the request body is not valid JSON');
      }
      const parsed = payInput.safeParse(json);
      if (!parsed.success) return problem(res, 400, 'validation_failed', 'the payment is invalid', parsed.error.issues.map((i) => ({ path: i.path.join('.') || '(body)', message: i.message })));
      paid = parsed.data;
    }
    const out = kind === 'pay' ? await ledger.buyerPays(ref, paid) : await ledger.buyerDeclines(ref);
    if (out.kind === 'not_found') {
      return form ? res.status(404).type('html').send(checkoutPage({ title: 'No such checkout', lines: [['Reference', ref]] })) : problem(res, 404, 'not_found', `no checkout ${ref}`);
    }
    if (out.kind === 'conflict') {
      if (!form) return problem(res, 409, 'conflict', REASONS[out.reason]);
      return res.status(409).type('html').send(checkoutPage({ title: `${providers[out.trade.method].label}: not possible`, lines: [['Reference', ref]], notice: REASONS[out.reason] }));
    }
    const provider = providers[out.trade.method];
    const done: BuyerAct = out.kind;
    provider.afterBuyer(done, out.trade);
    deps.logger?.info({ ref, method: out.trade.method, reference: out.trade.reference, act: done, amountMinor: out.trade.amountMinor }, 'sandbox buyer acted');
    if (!form) return res.json(view(out.trade));
    const redirect = typeof req.query.redirect_url === 'string' ? req.query.redirect_url : undefined;
    return res.redirect(303, provider.returnUrl(done, out.trade, redirect) ?? `../${encodeURIComponent(ref)}`);
  };
  router.post('/checkout/:ref/pay', act('pay'));
  router.post('/checkout/:ref/decline', act('decline'));
  return router;
}

function notice(t: SandboxTrade): string | undefined {
  if (t.expired) return 'This trade has expired.';
  if (t.status === 'closed') return 'This trade is closed.';
  if (t.status === 'refunded') return 'Paid, then refunded.';
  if (isPaid(t)) return 'Paid. You can close this page.';
  if (t.method === 'paypal' && t.approvedAt) return 'Approved. The merchant completes the payment.';
  if (t.method === 'card' && t.declinedAt) return 'Authentication failed.';
  if (t.declinedAt) return 'The last attempt was declined. You can try again.';
  return undefined;
}
