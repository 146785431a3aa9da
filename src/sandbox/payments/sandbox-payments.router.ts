import express, { Router, type ErrorRequestHandler } from 'express';
import { z } from 'zod';
import type { Database } from '../../db/database.js';
import { PAYMENT_METHODS } from '../../domain/order.js';
import type { Logger } from '../../logger.js';
import type { SandboxCredentials } from '../sandbox-credentials.js';
import { alipaySandbox } from './alipay.sandbox.js';
import { cardSandbox } from './card.sandbox.js';
import { checkoutRouter } from './checkout.router.js';
import { paypalSandbox } from './paypal.sandbox.js';
import { createSandboxLedger } from './sandbox-ledger.js';
import type { SandboxTrade } from './sandbox-trade.js';
import { wechatPaySandbox } from './wechat-pay.sandbox.js';

export interface SandboxPaymentsDeps {
  db: Database;
  credentials: SandboxCredentials;
  logger?: Logger;
  /**
   * Webhook endpoint registered "in the provider's dashboard" for PayPal and card, which (unlike Alipay and
   * WeChat Pay) take no notify URL per request; `{method}` is replaced, e.g. `${publicUrl}/v1/payments/notify/{method}`.
   */
  webhookUrl?: string;
  /**
   * Where buyers reach the sandbox (SANDBOX_BASE_URL): the base of every QR content, approve link and 3-D
   * Secure page it hands out. Unset, it is where each request reached it.
   */
  baseUrl?: string;
}

const faultSchema = z.object({
  method: z.enum(PAYMENT_METHODS),
  mode: z.enum(['error500', 'timeout', 'rate_limit', 'none']),
  forMs: z.number().int().positive().max(24 * 3600_000).default(60_000),
});

/**
 * The bundled sandbox payment provider (docs/api.md section 6), to be mounted at `/sandbox` before any body
 * parser: each provider verifies signatures over the exact bytes it received.
 */
export function sandboxPaymentsRouter(deps: SandboxPaymentsDeps): Router {
  const ledger = createSandboxLedger(deps.db);
  const { credentials: c, logger } = deps;
  const webhook = (method: string) => deps.webhookUrl?.replace('{method}', method);
  const router = Router();
  router.use(express.raw({ type: () => true, limit: '1mb' }));

  router.use((req, res, next) => {
    res.locals.sandboxBase = deps.baseUrl?.replace(/\/+$/, '') ?? `${req.protocol}://${req.get('host')}${req.baseUrl}`;
    next();
  });

  const alipay = alipaySandbox({ ledger, credentials: c.alipay, ...opt('logger', logger) });
  const wechat = wechatPaySandbox({ ledger, credentials: c.wechatPay, ...opt('logger', logger) });
  const paypal = paypalSandbox({ ledger, credentials: c.paypal, ...opt('webhookUrl', webhook('paypal')), ...opt('logger', logger) });
  const card = cardSandbox({ ledger, credentials: c.card, ...opt('webhookUrl', webhook('card')), ...opt('logger', logger) });
  const providers = { alipay: alipay.checkout, wechat_pay: wechat.checkout, paypal: paypal.checkout, card: card.checkout };
  router.use('/alipay', alipay.router);
  router.use('/wechatpay', wechat.router);
  router.use('/paypal', paypal.router);
  router.use('/card', card.router);
  router.use(checkoutRouter({ ledger, providers, ...opt('logger', logger) }));

  const entry = (t: SandboxTrade) => ({
    id: t.id, reference: t.reference, method: t.method, flow: t.flow, merchant: t.merchant, tradeRef: t.checkoutRef,
    amountMinor: t.amountMinor, requestedMinor: t.requestedMinor, currency: t.currency, status: t.status,
    providerStatus: providers[t.method].providerStatus(t), refundedMinor: t.refundedMinor,
    createdAt: iso(t.createdAt), paidAt: iso(t.paidAt), closedAt: iso(t.closedAt), expiresAt: iso(t.expiresAt),
  });
  router.get('/charges', async (req, res) => {
    const reference = typeof req.query.reference === 'string' ? req.query.reference : '';
    if (!reference) return res.status(400).json({ error: 'reference is required' });
    res.json({ data: (await ledger.chargesByReference(reference)).map(entry) });
  });

  router.post('/faults', async (req, res) => {
    let body: unknown;
    try {
      body = JSON.parse(Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '');
    } catch {
      return res.status(400).json({ error: 'send JSON: {"method", "mode", "forMs"}' });
    }
    const parsed = faultSchema.safeParse(body);
    if (!parsed.success) return res.status(400).json({ error: 'invalid fault', issues: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })) });
    const { method, mode, forMs } = parsed.data;
    const until = await ledger.setFault(method, mode, forMs);
    logger?.info({ method, mode, until }, 'sandbox payment fault set');
    res.json({ method, mode, until });
  });

  const onError: ErrorRequestHandler = (err, _req, res, _next) => {
    logger?.error({ err }, 'sandbox payment provider failed');
    if (!res.headersSent) res.status(500).json({ error: 'sandbox internal error' });
  };
  router.use(onError);
  return router;
}

const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);
const opt = <K extends string, V>(key: K, value: V | undefined) => (value === undefined ? {} : ({ [key]: value } as Record<K, V>));
