import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DomainError } from '../../src/domain/errors.js';
import { merchantReference } from '../../src/domain/order.js';
import type { ActionRequired, CaptureRequest, PaymentGateway } from '../../src/domain/payment-gateway.js';
import { createCardGateway } from '../../src/payments/card.gateway.js';
import { createPaypalGateway } from '../../src/payments/paypal.gateway.js';
import { cardPlatformAccount } from '../../src/sandbox/payments/card-intent.js';
import { paypalPlatformMerchant } from '../../src/sandbox/payments/paypal-order.js';
import { sandboxPaymentGatewaysOptions, sandboxPaypalOrderId } from '../../src/sandbox/sandbox-gateways.js';
import { startSandbox, type Sandbox } from '../support/sandbox-wire.js';

/**
 * The PayPal and card adapters on the wallet port, driven directly against the sandbox providers: redirect
 * and 3-D Secure actions, the buyer on the checkout page, lookups that complete what the buyer approved,
 * closes, and per-shop merchant accounts.
 */

let sb: Sandbox;
let paypal: PaymentGateway;
let card: PaymentGateway;
/** PayPal as the real one answers a PATCH, without the sandbox's LANDING allowances (see strictPaypal). */
let strict: { server: Server; refused: string[]; gateway: PaymentGateway };

beforeAll(async () => {
  sb = await startSandbox();
  const opts = sandboxPaymentGatewaysOptions(sb.creds, sb.base);
  paypal = createPaypalGateway({ ...opts.paypal, merchantId: paypalPlatformMerchant(sb.creds.paypal), timeoutMs: 5_000 });
  card = createCardGateway({ ...opts.card, accountId: cardPlatformAccount(sb.creds.card), timeoutMs: 5_000 });
  strict = await strictPaypal(`${sb.base}/paypal`);
});

afterAll(async () => {
  if (strict) await new Promise<void>((resolve) => { strict.server.closeAllConnections(); strict.server.close(() => resolve()); });
  await sb?.close();
});

const request = (over: Partial<CaptureRequest>): CaptureRequest => ({
  reference: merchantReference(randomUUID()), amountMinor: 1999, currency: 'USD', flow: 'redirect', token: '',
  description: 'orderworks test order', expiresAt: new Date(Date.now() + 15 * 60_000), ...over,
});

function action(out: unknown): ActionRequired & { trade: string } {
  expect(out).toMatchObject({ status: 'action_required', action: { type: 'redirect' } });
  const a = out as ActionRequired & { action: { url: string } };
  expect(a.action.url.startsWith(`${sb.base}/checkout/`)).toBe(true);
  expect(a.trade).toBeTruthy();
  return a as ActionRequired & { trade: string };
}
const urlOf = (a: ActionRequired) => (a.action as { url: string }).url;

async function failure(p: Promise<unknown>): Promise<DomainError> {
  const error = await p.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(DomainError);
  return error as DomainError;
}

describe('PayPal redirect flow', () => {
  it('creates the order, answers the approve link, and captures exactly once after the buyer approved', async () => {
    const req = request({ returnUrl: 'https://shop.example/back?o=1' });
    const first = action(await paypal.capture(req));
    const again = action(await paypal.capture(req));
    expect(again.trade).toBe(first.trade); // PayPal-Request-Id from the reference: a retry answers the same order
    expect(urlOf(again)).toBe(urlOf(first));
    expect((await sb.buyer.open(urlOf(first))).status).toBe(200);
    const r = { ...req, trade: first.trade };
    expect(await paypal.lookup(r)).toEqual({ status: 'pending' });

    // The buyer approves on the page, as its form does: back to our return URL with PayPal's token.
    const approved = await sb.buyer.submit(sb.buyer.refOf(urlOf(first)), 'pay');
    expect(approved.status).toBe(303);
    expect(approved.location).toContain(`https://shop.example/back?o=1&token=${first.trade}`);
    expect((await sb.ledger(req.reference))[0]).toMatchObject({ status: 'pending', providerStatus: 'APPROVED' });

    const captured = await paypal.lookup(r);
    expect(captured).toMatchObject({ status: 'captured', amountMinor: 1999, currency: 'USD', merchant: paypal.platformMerchant });
    expect(paypal.platformMerchant).toBe(paypalPlatformMerchant(sb.creds.paypal));
    expect(await paypal.lookup(r)).toEqual(captured); // a retry does not capture twice
    expect(await paypal.capture(req)).toEqual(captured); // nor does a retried capture
    expect(await paypal.close(r)).toEqual(captured); // paid first: close answers the capture
    const entries = await sb.ledger(req.reference);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ status: 'captured', amountMinor: 1999, requestedMinor: 1999, currency: 'USD', merchant: paypal.platformMerchant, flow: 'paypal_order' });
    expect(entries[0]!.id).toBe((captured as { providerReference: string }).providerReference);
  });

  it('close before approval answers failed, and an order approved after that is never captured', async () => {
    const req = request({});
    const open = action(await paypal.capture(req));
    const r = { ...req, trade: open.trade };
    expect(await paypal.close(r)).toEqual({ status: 'failed', reason: 'closed unpaid' });
    // PayPal cannot close an order: the sandbox keeps it pending until it expires (README, ledger status).
    expect((await sb.ledger(req.reference))[0]).toMatchObject({ status: 'pending', amountMinor: 0 });
    expect((await sb.buyer.pay(sb.buyer.refOf(urlOf(open)))).status).toBe(200);
    expect(await paypal.close(r)).toEqual({ status: 'failed', reason: 'closed unpaid' });
    expect((await sb.ledger(req.reference))[0]).toMatchObject({ status: 'pending', providerStatus: 'APPROVED', amountMinor: 0 });
    expect(await paypal.close({ ...req, trade: undefined })).toEqual({ status: 'failed', reason: 'no trade' });
  });

  it("pays the shop's own PayPal account (payee.merchant_id)", async () => {
    const req = request({ merchant: 'SHOPMERCHANT1', amountMinor: 500, currency: 'EUR' });
    const open = action(await paypal.capture(req));
    expect((await sb.ledger(req.reference))[0]).toMatchObject({ merchant: 'SHOPMERCHANT1', requestedMinor: 500, currency: 'EUR' });
    await sb.buyer.pay(sb.buyer.refOf(urlOf(open)));
    expect(await paypal.lookup({ ...req, trade: open.trade })).toMatchObject({ status: 'captured', amountMinor: 500, currency: 'EUR', merchant: 'SHOPMERCHANT1' });
    expect((await sb.ledger(req.reference))[0]).toMatchObject({ status: 'captured', merchant: 'SHOPMERCHANT1' });
  });
});

describe('PayPal token flow (the shop had its buyer approve the order)', () => {
  /** A first attempt that bound the order (PATCH applied) and died before capturing. */
  const bindAsAFirstAttempt = async (req: CaptureRequest, customId = req.reference, value = '19.99') => {
    const patched = await sb.paypal('PATCH', `/v2/checkout/orders/${encodeURIComponent(sandboxPaypalOrderId(req))}`, [
      { op: 'add', path: "/purchase_units/@reference_id=='default'/custom_id", value: customId },
      { op: 'replace', path: "/purchase_units/@reference_id=='default'/amount", value: { currency_code: 'USD', value } },
    ]);
    expect(patched.status).toBe(204);
  };

  it('a retry after the PATCH was applied captures once, also where PayPal refuses the second add', async () => {
    for (const gateway of [paypal, strict.gateway]) {
      const req = request({ flow: 'token', token: 'tok_ok' });
      await bindAsAFirstAttempt(req);
      const refusedBefore = strict.refused.length;
      const captured = await gateway.capture(req);
      expect(captured).toMatchObject({ status: 'captured', amountMinor: 1999, currency: 'USD', merchant: paypal.platformMerchant });
      if (gateway === strict.gateway) expect(strict.refused.slice(refusedBefore)).toEqual(['INVALID_PATCH_OPERATION']);
      // Once captured, a PATCH answers ORDER_ALREADY_COMPLETED: the capture is answered.
      expect(await gateway.capture(req)).toEqual(captured);
      if (gateway === strict.gateway) expect(strict.refused.slice(refusedBefore)).toEqual(['INVALID_PATCH_OPERATION', 'ORDER_ALREADY_COMPLETED']);
      expect(await gateway.lookup(req)).toEqual(captured);
      const entries = await sb.ledger(req.reference);
      expect(entries.filter((e) => e.status === 'captured')).toHaveLength(1);
    }
  });

  it('where our custom_id is set but the amount is not ours, PATCHes only the amount', async () => {
    const req = request({ flow: 'token', token: 'tok_ok' });
    await bindAsAFirstAttempt(req, req.reference, '1.00');
    const refusedBefore = strict.refused.length;
    expect(await strict.gateway.capture(req)).toMatchObject({ status: 'captured', amountMinor: 1999, currency: 'USD' });
    expect(strict.refused.slice(refusedBefore)).toEqual(['INVALID_PATCH_OPERATION']);
    expect((await sb.ledger(req.reference))[0]).toMatchObject({ status: 'captured', amountMinor: 1999, requestedMinor: 1999 });
  });

  it('refuses for good an order another reference bound', async () => {
    for (const gateway of [paypal, strict.gateway]) {
      const req = request({ flow: 'token', token: 'tok_ok' });
      const other = merchantReference(randomUUID());
      await bindAsAFirstAttempt(req, other);
      const error = await failure(gateway.capture(req));
      expect(error.code).toBe('provider_rejected');
      expect(error.permanent).toBe(true);
      expect(await sb.ledger(req.reference)).toEqual([]);
      expect((await sb.ledger(other))[0]).toMatchObject({ status: 'pending', amountMinor: 0 });
    }
  });

  it('a fresh approved order binds and captures in one go; a decline is permanent', async () => {
    const req = request({ flow: 'token', token: 'tok_ok' });
    expect(await strict.gateway.lookup(req)).toEqual({ status: 'not_found' });
    expect(await strict.gateway.capture(req)).toMatchObject({ status: 'captured', amountMinor: 1999, currency: 'USD' });
    const declined = await failure(paypal.capture(request({ flow: 'token', token: 'tok_decline' })));
    expect(declined.code).toBe('payment_declined');
  });
});

describe('card (PaymentIntents)', () => {
  it('tok_ok charges at once, in the currency the intent names', async () => {
    const req = request({ flow: 'token', token: 'tok_ok', currency: 'EUR' });
    const captured = await card.capture(req);
    expect(captured).toMatchObject({ status: 'captured', amountMinor: 1999, currency: 'EUR', merchant: cardPlatformAccount(sb.creds.card) });
    expect(await card.lookup(req)).toEqual(captured);
    expect(await card.close(req)).toEqual(captured);
  });

  it('tok_3ds answers the 3-D Secure redirect; paying on the page makes the lookup captured', async () => {
    const req = request({ flow: 'token', token: 'tok_3ds', returnUrl: 'https://shop.example/3ds-done' });
    const open = action(await card.capture(req));
    expect(open.trade).toMatch(/^pi_/);
    expect(await card.capture(req)).toEqual(open); // same Idempotency-Key: same intent
    const r = { ...req, trade: open.trade };
    expect(await card.lookup(r)).toEqual({ status: 'pending' });
    expect(await card.lookup(req)).toEqual({ status: 'pending' }); // by metadata search too
    const paid = await sb.buyer.submit(sb.buyer.refOf(urlOf(open)), 'pay');
    expect(paid.location).toMatch(/^https:\/\/shop\.example\/3ds-done\?payment_intent=pi_.*redirect_status=succeeded/);
    const captured = await card.lookup(r);
    expect(captured).toEqual({ status: 'captured', providerReference: open.trade, amountMinor: 1999, currency: 'USD', merchant: card.platformMerchant });
    expect(await card.lookup(req)).toEqual(captured);
    const entries = await sb.ledger(req.reference);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ status: 'captured', amountMinor: 1999, currency: 'USD', merchant: card.platformMerchant });
  });

  it('a failed 3-D Secure on the page makes the lookup failed', async () => {
    const req = request({ flow: 'token', token: 'tok_3ds' }); // no return URL: the sandbox names the page in use_stripe_sdk
    const open = action(await card.capture(req));
    expect((await sb.buyer.decline(sb.buyer.refOf(urlOf(open)))).status).toBe(200);
    expect(await card.lookup({ ...req, trade: open.trade })).toMatchObject({ status: 'failed' });
    expect(await card.lookup(req)).toMatchObject({ status: 'failed' });
    expect((await sb.buyer.pay(sb.buyer.refOf(urlOf(open)))).status).toBe(409);
    expect(await card.close({ ...req, trade: open.trade })).toEqual({ status: 'failed', reason: 'closed' });
  });

  it('close cancels the intent: ledger closed, the page refuses to pay, lookups answer failed', async () => {
    const req = request({ flow: 'token', token: 'tok_3ds', returnUrl: 'https://shop.example/3ds-done' });
    const open = action(await card.capture(req));
    const r = { ...req, trade: open.trade };
    expect(await card.close(r)).toEqual({ status: 'failed', reason: 'closed' });
    expect((await sb.ledger(req.reference))[0]).toMatchObject({ status: 'closed', providerStatus: 'canceled', amountMinor: 0 });
    expect((await sb.buyer.pay(sb.buyer.refOf(urlOf(open)))).status).toBe(409);
    expect(await card.lookup(r)).toEqual({ status: 'failed', reason: 'payment intent canceled' });
    expect(await card.close(r)).toEqual({ status: 'failed', reason: 'closed' }); // closing again changes nothing
    expect(await card.close(req)).toEqual({ status: 'failed', reason: 'closed' }); // found by search
    expect(await card.close(request({ flow: 'token', token: 'tok_3ds' }))).toEqual({ status: 'failed', reason: 'no trade' });
  });

  it("charges the shop's connected account (Stripe-Account), which alone sees the intent", async () => {
    const req = request({ flow: 'token', token: 'tok_3ds', merchant: 'acct_shop1' });
    const open = action(await card.capture(req));
    expect((await sb.ledger(req.reference))[0]).toMatchObject({ merchant: 'acct_shop1', status: 'pending' });
    expect(await card.lookup({ ...req, merchant: undefined, trade: open.trade })).toEqual({ status: 'not_found' });
    await sb.buyer.pay(sb.buyer.refOf(urlOf(open)));
    expect(await card.lookup({ ...req, trade: open.trade })).toMatchObject({ status: 'captured', merchant: 'acct_shop1', currency: 'USD' });
    const direct = request({ flow: 'token', token: 'tok_ok', merchant: 'acct_shop1' });
    expect(await card.capture(direct)).toMatchObject({ status: 'captured', merchant: 'acct_shop1' });
    expect((await sb.ledger(direct.reference))[0]).toMatchObject({ merchant: 'acct_shop1', status: 'captured' });
  });

  it('a decline is permanent', async () => {
    const error = await failure(card.capture(request({ flow: 'token', token: 'tok_decline' })));
    expect(error.code).toBe('payment_declined');
  });
});

/**
 * A proxy in front of the sandbox's PayPal that answers a PATCH as PayPal does, where the sandbox still has
 * LANDING allowances: an `add` of a custom_id already present is 422 INVALID_PATCH_OPERATION (whatever its
 * value), and a PATCH of a completed order is 422 ORDER_ALREADY_COMPLETED. Everything else passes through.
 */
async function strictPaypal(target: string) {
  const refused: string[] = [];
  const refuse = (res: import('node:http').ServerResponse, issue: string) => {
    refused.push(issue);
    res.writeHead(422, { 'content-type': 'application/json' }).end(JSON.stringify({ name: 'UNPROCESSABLE_ENTITY', message: issue, details: [{ issue }] }));
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => void (async () => {
      const url = `${target}${req.url ?? ''}`;
      const headers: Record<string, string> = {};
      for (const h of ['authorization', 'content-type', 'paypal-request-id', 'prefer']) if (typeof req.headers[h] === 'string') headers[h] = req.headers[h];
      const body = Buffer.concat(chunks).toString('utf8');
      if (req.method === 'PATCH') {
        const order = (await (await fetch(url, { headers: { authorization: headers.authorization ?? '' } })).json()) as Record<string, any>;
        if (order.status === 'COMPLETED') return refuse(res, 'ORDER_ALREADY_COMPLETED');
        const ops = JSON.parse(body) as Array<{ op: string; path: string }>;
        if (order.purchase_units?.[0]?.custom_id && ops.some((o) => o.op === 'add' && o.path.endsWith('/custom_id'))) return refuse(res, 'INVALID_PATCH_OPERATION');
      }
      const answer = await fetch(url, { method: req.method ?? 'GET', headers, ...(body ? { body } : {}) });
      res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' }).end(await answer.text());
    })().catch(() => res.writeHead(502).end()));
  });
  const base = await new Promise<string>((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
  const opts = sandboxPaymentGatewaysOptions(sb.creds, sb.base);
  const gateway = createPaypalGateway({ ...opts.paypal, baseUrl: base, merchantId: paypalPlatformMerchant(sb.creds.paypal), timeoutMs: 5_000 });
  return { server, refused, gateway };
}
