import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyStripeSignature } from '../../src/payments/stripe.signing.js';
import { createTestDatabase } from '../support/db.js';
import { startSandbox, type Received, type Sandbox } from '../support/sandbox-wire.js';

/** PayPal orders and 3-D Secure PaymentIntents on their wire formats, the checkout page, the sandbox's schema. */

let sbx: Sandbox;
beforeAll(async () => {
  sbx = await startSandbox();
});
afterAll(async () => {
  await sbx?.close();
});

const jsonOf = (r: Received) => JSON.parse(r.body.toString('utf8')) as Record<string, any>;
const paypalEvent = (type: string, orderId: string) =>
  sbx.notification((r) => r.path === '/notify/paypal' && jsonOf(r).event_type === type && JSON.stringify(jsonOf(r).resource).includes(orderId));
const cardEvent = (type: string, intentId: string) =>
  sbx.notification((r) => r.path === '/notify/card' && jsonOf(r).type === type && jsonOf(r).data.object.id === intentId);

describe('PayPal orders', () => {
  const create = (customId: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) =>
    sbx.paypal('POST', '/v2/checkout/orders', {
      intent: 'CAPTURE', purchase_units: [{ custom_id: customId, amount: { currency_code: 'USD', value: '39.98' }, ...extra }],
      application_context: { return_url: 'https://shop.example/paypal/return', cancel_url: 'https://shop.example/paypal/cancel' },
    }, { prefer: 'return=representation', ...headers });
  const unit = "/purchase_units/@reference_id=='default'";

  it('an order with an approve link to the checkout page; approved by the buyer, captured once by the merchant', async () => {
    const customId = randomUUID();
    const requestId = randomUUID();
    const made = await create(customId, {}, { 'paypal-request-id': requestId });
    expect(made).toMatchObject({ status: 201, json: { status: 'CREATED', intent: 'CAPTURE', purchase_units: [{ custom_id: customId, amount: { value: '39.98' } }] } });
    expect((await create(customId, {}, { 'paypal-request-id': requestId })).json.id).toBe(made.json.id);
    const approve = (made.json.links as Array<{ rel: string; href: string }>).find((l) => l.rel === 'approve')!.href;
    expect(approve).toBe(`${sbx.base}/checkout/${made.json.id}`);
    const id: string = made.json.id;

    expect(await sbx.paypal('POST', `/v2/checkout/orders/${id}/capture`, {})).toMatchObject({ status: 422, json: { details: [{ issue: 'ORDER_NOT_APPROVED' }] } });
    const back = await sbx.buyer.submit(id, 'pay');
    expect(back.status).toBe(303);
    expect(back.location).toMatch(new RegExp(`^https://shop.example/paypal/return\\?token=${id}&PayerID=\\w+$`));
    expect(jsonOf(await paypalEvent('CHECKOUT.ORDER.APPROVED', id)).resource).toMatchObject({ id, status: 'APPROVED' });
    expect(await sbx.ledger(customId)).toMatchObject([{ status: 'pending', providerStatus: 'APPROVED', amountMinor: 0 }]);
    expect((await sbx.buyer.pay(id)).status).toBe(409);

    const cap = await sbx.paypal('POST', `/v2/checkout/orders/${id}/capture`, {}, { 'paypal-request-id': `cap-${customId}`, prefer: 'return=representation' });
    expect(cap).toMatchObject({ status: 201, json: { status: 'COMPLETED', purchase_units: [{ payments: { captures: [{ status: 'COMPLETED', custom_id: customId, amount: { value: '39.98' } }] } }] } });
    const again = await sbx.paypal('POST', `/v2/checkout/orders/${id}/capture`, {}, { 'paypal-request-id': `cap-${customId}`, prefer: 'return=representation' });
    expect(again.status).toBe(200);
    expect(again.json.purchase_units[0].payments.captures[0].id).toBe(cap.json.purchase_units[0].payments.captures[0].id);
    expect(await sbx.paypal('POST', `/v2/checkout/orders/${id}/capture`, {}, { 'paypal-request-id': 'another' })).toMatchObject({ status: 422, json: { details: [{ issue: 'ORDER_ALREADY_CAPTURED' }] } });
    expect(jsonOf(await paypalEvent('PAYMENT.CAPTURE.COMPLETED', id)).resource).toMatchObject({ custom_id: customId, amount: { currency_code: 'USD', value: '39.98' } });
    expect(await sbx.ledger(customId)).toMatchObject([{ method: 'paypal', status: 'captured', amountMinor: 3998, tradeRef: id }]);
  });

  it('PATCH follows PayPal\'s rules: add of a field already set is 422, replace of one not set too, and nothing is applied', async () => {
    const made = await create(randomUUID());
    const id: string = made.json.id;
    const other = randomUUID();
    expect(await sbx.paypal('PATCH', `/v2/checkout/orders/${id}`, [{ op: 'add', path: `${unit}/custom_id`, value: other }]))
      .toMatchObject({ status: 422, json: { name: 'UNPROCESSABLE_ENTITY', details: [{ issue: 'INVALID_PATCH_OPERATION' }] } });
    expect(await sbx.paypal('PATCH', `/v2/checkout/orders/${id}`, [
      { op: 'replace', path: `${unit}/amount`, value: { currency_code: 'USD', value: '1.00' } },
      { op: 'replace', path: `${unit}/invoice_id`, value: 'INV-1' },
    ])).toMatchObject({ status: 422, json: { details: [{ issue: 'INVALID_PATCH_OPERATION' }] } });
    expect((await sbx.paypal('GET', `/v2/checkout/orders/${id}`)).json.purchase_units[0].amount.value).toBe('39.98');
    expect((await sbx.paypal('PATCH', `/v2/checkout/orders/${id}`, [
      { op: 'replace', path: `${unit}/custom_id`, value: other }, { op: 'add', path: `${unit}/invoice_id`, value: 'INV-1' },
    ])).status).toBe(204);
    expect((await sbx.paypal('GET', `/v2/checkout/orders/${id}`)).json.purchase_units[0]).toMatchObject({ custom_id: other, invoice_id: 'INV-1' });
  });

  it('payee.merchant_id: the order is the shop\'s merchant\'s, in the ledger and in the capture', async () => {
    const customId = randomUUID();
    const made = await create(customId, { payee: { merchant_id: 'SHOPMERCHANT1' } });
    await sbx.buyer.pay(made.json.id);
    const cap = await sbx.paypal('POST', `/v2/checkout/orders/${made.json.id}/capture`, {}, { prefer: 'return=representation' });
    expect(cap.json.purchase_units[0]).toMatchObject({ payee: { merchant_id: 'SHOPMERCHANT1' }, payments: { captures: [{ payee: { merchant_id: 'SHOPMERCHANT1' } }] } });
    expect(await sbx.ledger(customId)).toMatchObject([{ merchant: 'SHOPMERCHANT1', status: 'captured' }]);
  });

  it('a buyer who cancels goes back to cancel_url; the order stays open for another try', async () => {
    const made = await create(randomUUID());
    expect(await sbx.buyer.submit(made.json.id, 'decline')).toMatchObject({ status: 303, location: `https://shop.example/paypal/cancel?token=${made.json.id}` });
    expect((await sbx.paypal('GET', `/v2/checkout/orders/${made.json.id}`)).json.status).toBe('CREATED');
    expect((await sbx.buyer.pay(made.json.id)).json).toMatchObject({ providerStatus: 'APPROVED' });
  });
});

describe('card PaymentIntents', () => {
  const intent = (reference: string, token: string, extra: Record<string, string> = {}, headers: Record<string, string> = {}) =>
    sbx.card('POST', '/v1/payment_intents', {
      amount: '2500', currency: 'eur', payment_method: token, confirm: 'true', 'metadata[order_id]': reference, return_url: 'https://shop.example/3ds', ...extra,
    }, headers);

  it('tok_3ds: requires_action with a redirect to the checkout page; authenticated, it succeeds and is announced', async () => {
    const reference = randomUUID();
    const pi = await intent(reference, 'tok_3ds', {}, { 'idempotency-key': `k-${reference}` });
    expect(pi.json).toMatchObject({ status: 'requires_action', amount: 2500, amount_received: 0, next_action: { type: 'redirect_to_url', redirect_to_url: { return_url: 'https://shop.example/3ds' } } });
    const url: string = pi.json.next_action.redirect_to_url.url;
    expect(url.startsWith(`${sbx.base}/checkout/`)).toBe(true);
    expect((await intent(reference, 'tok_3ds', {}, { 'idempotency-key': `k-${reference}` })).json.id).toBe(pi.json.id);
    expect(await intent(reference, 'tok_3ds', { amount: '1' }, { 'idempotency-key': `k-${reference}` })).toMatchObject({ status: 400, json: { error: { type: 'idempotency_error' } } });

    const page = await sbx.buyer.open(url);
    expect(page.html).toContain('25.00 EUR');
    expect(page.html).toContain('Complete authentication');
    const back = await sbx.buyer.submit(sbx.buyer.refOf(url), 'pay');
    expect(back.location).toMatch(new RegExp(`^https://shop.example/3ds\\?payment_intent=${pi.json.id}&payment_intent_client_secret=.+&redirect_status=succeeded$`));
    const note = await cardEvent('payment_intent.succeeded', pi.json.id);
    expect(verifyStripeSignature(note.headers['stripe-signature'] as string, note.body.toString('utf8'), sbx.creds.card.webhookSecret)).toBe(true);
    expect((await sbx.card('GET', `/v1/payment_intents/${pi.json.id}`)).json).toMatchObject({ status: 'succeeded', amount_received: 2500 });
    expect(await sbx.card('POST', `/v1/payment_intents/${pi.json.id}/cancel`)).toMatchObject({ status: 400, json: { error: { code: 'payment_intent_unexpected_state' } } });
    expect(await sbx.ledger(reference)).toMatchObject([{ method: 'card', flow: 'payment_intent', status: 'captured', amountMinor: 2500 }]);
  });

  it('a failed authentication leaves requires_payment_method; a cancelled intent cannot be paid', async () => {
    const failed = await intent(randomUUID(), 'tok_3ds');
    const ref = sbx.buyer.refOf(failed.json.next_action.redirect_to_url.url);
    expect((await sbx.buyer.submit(ref, 'decline')).location).toMatch(/redirect_status=failed$/);
    expect((await sbx.card('GET', `/v1/payment_intents/${failed.json.id}`)).json).toMatchObject({ status: 'requires_payment_method', last_payment_error: { code: 'payment_intent_authentication_failure' } });
    await cardEvent('payment_intent.payment_failed', failed.json.id);
    expect((await sbx.buyer.pay(ref)).status).toBe(409);

    const reference = randomUUID();
    const open = await intent(reference, 'tok_3ds');
    expect((await sbx.card('POST', `/v1/payment_intents/${open.json.id}/cancel`, { cancellation_reason: 'abandoned' })).json).toMatchObject({ status: 'canceled', cancellation_reason: 'abandoned' });
    const late = await sbx.buyer.pay(sbx.buyer.refOf(open.json.next_action.redirect_to_url.url));
    expect(late).toMatchObject({ status: 409, json: { type: expect.stringContaining('conflict'), status: 409 } });
    expect(await sbx.ledger(reference)).toMatchObject([{ status: 'closed', providerStatus: 'canceled' }]);
  });

  it('Stripe-Account: a connected account\'s intents are its own', async () => {
    const reference = randomUUID();
    const pi = await intent(reference, 'tok_ok', {}, { 'stripe-account': 'acct_shop123' });
    expect(pi.json.status).toBe('succeeded');
    expect((await sbx.card('GET', `/v1/payment_intents/${pi.json.id}`)).status).toBe(404);
    expect((await sbx.card('GET', `/v1/payment_intents/${pi.json.id}`, undefined, { 'stripe-account': 'acct_shop123' })).json.id).toBe(pi.json.id);
    expect((await sbx.card('GET', `/v1/payment_intents/search?query=${encodeURIComponent(`metadata['order_id']:'${reference}'`)}`)).json.data).toEqual([]);
    expect(jsonOf(await cardEvent('payment_intent.succeeded', pi.json.id)).account).toBe('acct_shop123');
    expect(await sbx.ledger(reference)).toMatchObject([{ merchant: 'acct_shop123' }]);
  });
});

describe('the checkout page', () => {
  it('works without script, escapes merchant text, and answers unknown refs and bad bodies as it should', async () => {
    const ref = randomBytes(16).toString('hex');
    const pre = await sbx.alipay.call('alipay.trade.precreate', { out_trade_no: ref, total_amount: '1.50', subject: '<script>alert(1)</script>' });
    const page = await sbx.buyer.open(pre.node.qr_code!);
    expect(page.html).not.toContain('<script>');
    expect(page.html).toContain('&lt;script&gt;');
    const tradeRef = sbx.buyer.refOf(pre.node.qr_code!);
    const res = await fetch(`${sbx.base}/checkout/${tradeRef}/pay`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"amountMinor":' });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect((await sbx.buyer.pay(tradeRef, { amountMinor: 10, currency: 'usdollar' })).json.errors).toEqual([{ path: 'currency', message: 'must be an ISO 4217 code' }]);
    expect((await sbx.buyer.open(`${sbx.base}/checkout/nothing-here`)).status).toBe(404);
    expect((await sbx.buyer.pay('nothing-here')).status).toBe(404);

    const declined = await sbx.buyer.submit(tradeRef, 'decline');
    expect(declined).toMatchObject({ status: 303, location: `../${tradeRef}` });
    expect((await sbx.buyer.open(pre.node.qr_code!)).html).toContain('declined');
    const paid = await sbx.buyer.submit(tradeRef, 'pay');
    expect(paid.status).toBe(303);
    const after = await sbx.buyer.open(pre.node.qr_code!);
    expect(after.html).toContain('Paid');
    expect(after.html).not.toContain('id="pay"');
    expect((await sbx.buyer.submit(tradeRef, 'pay')).status).toBe(409);
  });
});

describe('the sandbox schema', () => {
  it('exists only where the sandbox runs', async () => {
    const prod = await createTestDatabase({ sandbox: false });
    try {
      const tables = await prod.db.rows<{ name: string }>(`SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' AND table_name LIKE 'sandbox%'`);
      expect(tables).toEqual([]);
      expect((await prod.db.rows<{ n: number }>(`SELECT count(*)::int AS n FROM information_schema.tables WHERE table_name = 'orders'`))[0]!.n).toBe(1);
    } finally {
      await prod.drop();
    }
    const names = await sbx.db.rows<{ name: string }>(`SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' AND table_name LIKE 'sandbox%' ORDER BY 1`);
    expect(names.map((n) => n.name)).toEqual(['sandbox_capture_attempts', 'sandbox_carrier_faults', 'sandbox_carrier_parcels', 'sandbox_charges', 'sandbox_credentials', 'sandbox_faults', 'sandbox_refunds']);
  });
});
