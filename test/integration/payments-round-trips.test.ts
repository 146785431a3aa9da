import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, type Database } from '../../src/db/database.js';
import { createEventOutbox } from '../../src/db/event-outbox.js';
import { createPaymentRepository } from '../../src/db/payment.repository.js';
import type { PaymentDeps } from '../../src/domain/payment.service.js';
import { handleNotification } from '../../src/domain/payment-notification.service.js';
import { loadPaymentGateways } from '../../src/runtime.js';
import { stripeSignatureHeader } from '../../src/payments/stripe.signing.js';
import { loadSandboxCredentials, type SandboxCredentials } from '../../src/sandbox/sandbox-credentials.js';
import { createSandboxLedger } from '../../src/sandbox/payments/sandbox-ledger.js';
import { createShop, orderBody, waitForAll, type Client } from '../support/client.js';
import { startSystem, type TestSystem } from '../support/system.js';

/** A Database that counts the statements it sends (a transaction's START and COMMIT count as two). */
function counting(db: Database) {
  const seen: string[] = [];
  const wrapped: Database = {
    ...db,
    rows: (sql, bind, tx) => {
      seen.push(sql.trim().split(/\s+/).slice(0, 2).join(' '));
      return db.rows(sql, bind, tx);
    },
    transaction: (fn) => {
      seen.push('START', 'COMMIT');
      return db.transaction(fn);
    },
  };
  return { db: wrapped, seen, reset: () => seen.splice(0) };
}

let sys: TestSystem;
let shop: Client;
let shopId: string;
let db: Database;
let creds: SandboxCredentials;
const product = (sku: string) => shop('GET', `/v1/products/${sku}`).then((r) => r.json);
const place = async (sku: string, n: number, token = 'tok_ok') => {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = await shop('POST', '/v1/orders', orderBody([{ sku, quantity: 1 }], { payment: { method: 'card', token } }), { 'idempotency-key': `${sku}-${token}-${i}` });
    ids.push(r.json.id);
  }
  return waitForAll(shop, ids, ['placed', 'paid']);
};

beforeAll(async () => {
  // Nobody consumes payment-capture: each test drives the capture path itself.
  sys = await startSystem({ env: { WORKER_QUEUES: 'order-placement,maintenance' } });
  ({ call: shop, id: shopId } = await createShop(sys.base));
  db = createDatabase(sys.config.databaseUrl, { poolMax: 3 });
  creds = await loadSandboxCredentials(db);
});
afterAll(async () => {
  await db?.close();
  await sys?.close();
});

describe('settles of concurrent captures are one transaction', () => {
  it('pays every order, moves a shared product once, and answers a duplicate and an unknown order apart', async () => {
    await shop('PUT', '/v1/products/HOT', { name: 'Hot', priceMinor: 500, currency: 'CNY', stock: 100 });
    const orders = await place('HOT', 8);
    expect(await product('HOT')).toMatchObject({ stock: 92, reserved: 8 });
    const c = counting(db);
    const payments = createPaymentRepository(c.db, createEventOutbox(c.db));
    const capture = { status: 'captured' as const, providerReference: 'pi_test', amountMinor: 500, currency: 'CNY' };
    const unknown = '00000000-0000-7000-8000-000000000000';
    const outcomes = await Promise.all([...orders.map((o) => payments.settleCapture({ shopId, orderId: o.id }, capture)), payments.settleCapture({ shopId, orderId: unknown }, capture).catch((e: unknown) => e)]);
    expect(outcomes.slice(0, 8)).toEqual(orders.map(() => ({ outcome: 'paid' })));
    expect(outcomes[8]).toMatchObject({ code: 'not_found' });
    // One transaction of two statements: the orders locked in id order, then the paid orders and their products.
    expect(c.seen).toEqual(['START', 'COMMIT', 'SELECT o.id,', 'WITH c']);
    expect(await product('HOT')).toMatchObject({ stock: 92, reserved: 0 });
    for (const o of orders) expect((await shop('GET', `/v1/orders/${o.id}`)).json).toMatchObject({ status: 'paid', payment: { status: 'captured', capturedMinor: 500 } });

    // The same order twice in one batch: settled once, the second answer is `already_settled`.
    const [again] = await place('HOT', 1, 'tok_again');
    c.reset();
    const twice = await Promise.all([payments.settleCapture({ shopId, orderId: again!.id }, capture), payments.settleCapture({ shopId, orderId: again!.id }, capture)]);
    expect(twice).toEqual([{ outcome: 'paid' }, { outcome: 'already_settled' }]);
    expect(await product('HOT')).toMatchObject({ stock: 91, reserved: 0 });
  });

  it('counts the attempts of captures that start together in one statement', async () => {
    await shop('PUT', '/v1/products/BEGIN', { name: 'Begin', priceMinor: 500, currency: 'CNY', stock: 100 });
    const orders = await place('BEGIN', 5);
    const c = counting(db);
    const payments = createPaymentRepository(c.db, createEventOutbox(c.db));
    const ctxs = await Promise.all([...orders.map((o) => payments.beginCapture({ shopId, orderId: o.id })), payments.beginCapture({ shopId, orderId: orders[0]!.id })]);
    expect(ctxs.map((x) => x?.attempts)).toEqual([1, 1, 1, 1, 1, 2]);
    // The duplicate is counted in a second round, as it would have been alone.
    expect(c.seen).toEqual(['WITH locked', 'WITH locked']);
  });
});

describe('a provider notification for an order already paid', () => {
  it('changes nothing and costs one statement', async () => {
    await shop('PUT', '/v1/products/NOTE', { name: 'Note', priceMinor: 700, currency: 'CNY', stock: 10 });
    const [placed] = await place('NOTE', 1);
    const gateways = await loadPaymentGateways(sys.config, db);
    const paid = await createPaymentRepository(db, createEventOutbox(db)).settleCapture({ shopId, orderId: placed!.id }, { status: 'captured', providerReference: 'pi_note', amountMinor: 700, currency: 'CNY' });
    expect(paid).toEqual({ outcome: 'paid' });
    const before = (await shop('GET', `/v1/orders/${placed!.id}`)).json;
    const body = JSON.stringify({
      id: 'evt_note', object: 'event', type: 'payment_intent.succeeded',
      data: { object: { id: 'pi_note', object: 'payment_intent', status: 'succeeded', amount: 700, amount_received: 700, currency: 'cny', metadata: { order_id: placed!.id } } },
    });
    const c = counting(db);
    const deps: PaymentDeps = {
      payments: createPaymentRepository(c.db, createEventOutbox(c.db)),
      gateways,
      jobs: { capture: async () => true, abandon: async () => true, refund: async () => true },
      holdExpiresMs: 60_000,
    };
    const notify = () => handleNotification(deps, 'card', { headers: { 'stripe-signature': stripeSignatureHeader(creds.card.webhookSecret, body) }, body: Buffer.from(body) });
    expect((await notify()).status).toBe(200);
    expect(c.seen).toEqual(['SELECT o.id,']);
    // Copies that arrive together (a provider's retries) share that one read.
    c.reset();
    expect((await Promise.all([notify(), notify(), notify()])).map((r) => r.status)).toEqual([200, 200, 200]);
    expect(c.seen).toEqual(['SELECT o.id,']);
    // Over HTTP too: answered, and the order is as it was.
    const http = await fetch(`${sys.base}/v1/payments/notify/card`, {
      method: 'POST', headers: { 'content-type': 'application/json', 'stripe-signature': stripeSignatureHeader(creds.card.webhookSecret, body) }, body,
    });
    expect(http.status).toBe(200);
    expect((await shop('GET', `/v1/orders/${placed!.id}`)).json).toEqual(before);
    expect(await product('NOTE')).toMatchObject({ stock: 9, reserved: 0 });
  });
});

describe('the sandbox card ledger', () => {
  it('makes a new charge in one statement and holds an idempotency key to its first reference and amount', async () => {
    const c = counting(db);
    const ledger = createSandboxLedger(c.db);
    const key = `capture-key-${Date.now()}`;
    const first = await ledger.capture({ method: 'card', reference: `ref-${key}`, token: 'tok_ok', amountMinor: 100, currency: 'usd', newId: () => `pi_${key}`, idempotencyKey: key });
    expect(first).toMatchObject({ kind: 'captured', replay: false, charge: { reference: `ref-${key}`, details: { idempotencyKey: key } } });
    expect(c.seen).toEqual(['INSERT INTO']);
    const replay = await ledger.capture({ method: 'card', reference: `ref-${key}`, token: 'tok_ok', amountMinor: 100, currency: 'usd', newId: () => 'pi_never', idempotencyKey: key });
    expect(replay).toMatchObject({ kind: 'captured', replay: true, charge: { id: `pi_${key}` } });
    const reused = await ledger.capture({ method: 'card', reference: `other-${key}`, token: 'tok_ok', amountMinor: 100, currency: 'usd', newId: () => 'pi_never', idempotencyKey: key });
    expect(reused).toMatchObject({ kind: 'mismatch', byKey: true });
    expect(await ledger.chargesByReference(`other-${key}`)).toEqual([]);

    // Charges asked for together are made by one insert; the same reference twice in it is charged once.
    c.reset();
    const refs = [`a-${key}`, `b-${key}`, `a-${key}`];
    const together = await Promise.all(refs.map((reference, i) =>
      ledger.capture({ method: 'card', reference, token: 'tok_ok', amountMinor: 100, currency: 'usd', newId: () => `pi_${i}_${key}` })));
    expect(together.map((o) => o.kind)).toEqual(['captured', 'captured', 'captured']);
    expect(c.seen[0]).toBe('INSERT INTO');
    expect(c.seen.filter((x) => x === 'INSERT INTO')).toHaveLength(1);
    expect(await ledger.chargesByReference(`a-${key}`)).toHaveLength(1);
    expect(await ledger.chargesByReference(`b-${key}`)).toHaveLength(1);

    // As the card API answers it.
    const res = await fetch(`${sys.base}/sandbox/card/v1/payment_intents`, {
      method: 'POST',
      headers: { authorization: `Bearer ${creds.card.secretKey}`, 'content-type': 'application/x-www-form-urlencoded', 'idempotency-key': key },
      body: new URLSearchParams({ amount: '100', currency: 'usd', payment_method: 'tok_ok', confirm: 'true', 'metadata[order_id]': `third-${key}` }).toString(),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { type: 'idempotency_error' } });
  });
});
