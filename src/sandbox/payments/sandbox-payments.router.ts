import express, { Router, type ErrorRequestHandler } from 'express';
import { z } from 'zod';
import type { Database } from '../../db/database.js';
import { PAYMENT_METHODS } from '../../domain/order.js';
import type { Logger } from '../../logger.js';
import type { SandboxCredentials } from '../sandbox-credentials.js';
import { alipaySandbox } from './alipay.sandbox.js';
import { cardSandbox } from './card.sandbox.js';
import { paypalSandbox } from './paypal.sandbox.js';
import { createSandboxLedger } from './sandbox-ledger.js';
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

  router.use('/alipay', alipaySandbox({ ledger, credentials: c.alipay, ...(logger ? { logger } : {}) }));
  router.use('/wechatpay', wechatPaySandbox({ ledger, credentials: c.wechatPay, ...(logger ? { logger } : {}) }));
  router.use('/paypal', paypalSandbox({ ledger, credentials: c.paypal, ...opt('webhookUrl', webhook('paypal')), ...(logger ? { logger } : {}) }));
  router.use('/card', cardSandbox({ ledger, credentials: c.card, ...opt('webhookUrl', webhook('card')), ...(logger ? { logger } : {}) }));

  router.get('/charges', async (req, res) => {
    const reference = typeof req.query.reference === 'string' ? req.query.reference : '';
    if (!reference) return res.status(400).json({ error: 'reference is required' });
    const charges = await ledger.chargesByReference(reference);
    res.json({
      data: charges.map((ch) => ({
        id: ch.id, reference: ch.reference, method: ch.method, amountMinor: ch.amountMinor, currency: ch.currency, status: ch.status, refundedMinor: ch.refundedMinor,
      })),
    });
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

const opt = <K extends string, V>(key: K, value: V | undefined) => (value === undefined ? {} : ({ [key]: value } as Record<K, V>));
