import { describe, expect, it } from 'vitest';
import { newOrderId } from '../../src/domain/ids.js';
import { MAX_TRADES, merchantReference, orderIdOf, tradeNoOf } from '../../src/domain/order.js';
import { paymentInputSchema } from '../../src/domain/order-input.js';
import { settlementMismatch } from '../../src/domain/order-rules.js';
import { followDelayMs } from '../../src/domain/payment.service.js';

describe('settlementMismatch: only exactly the order\'s amount, currency and merchant pays it', () => {
  const order = { amountMinor: 3998, currency: 'CNY', merchant: null };
  it('the exact money pays', () => {
    expect(settlementMismatch(order, 'PLATFORM', { amountMinor: 3998, currency: 'CNY', merchant: 'PLATFORM' })).toBeNull();
    expect(settlementMismatch(order, 'PLATFORM', { amountMinor: 3998, currency: 'cny' })).toBeNull();
  });
  it('another amount, either way, does not', () => {
    expect(settlementMismatch(order, undefined, { amountMinor: 1, currency: 'CNY' })).toMatchObject({ reason: 'payment_amount_mismatch' });
    expect(settlementMismatch(order, undefined, { amountMinor: 3999, currency: 'CNY' })?.detail).toContain('3999 CNY paid for an order of 3998 CNY');
  });
  it('another currency does not, even for the same number', () => {
    expect(settlementMismatch(order, undefined, { amountMinor: 3998, currency: 'USD' })).toMatchObject({ reason: 'payment_currency_mismatch' });
  });
  it('money paid to another merchant account does not: the shop\'s own, else the platform\'s', () => {
    expect(settlementMismatch(order, 'PLATFORM', { amountMinor: 3998, currency: 'CNY', merchant: 'OTHER' })).toMatchObject({ reason: 'payment_merchant_mismatch' });
    const partner = { ...order, merchant: 'SHOP1' };
    expect(settlementMismatch(partner, 'PLATFORM', { amountMinor: 3998, currency: 'CNY', merchant: 'PLATFORM' })).toMatchObject({ reason: 'payment_merchant_mismatch' });
    expect(settlementMismatch(partner, 'PLATFORM', { amountMinor: 3998, currency: 'CNY', merchant: 'SHOP1' })).toBeNull();
  });
});

describe('merchant references', () => {
  it('are 32 characters, one per trade, and each names its order', () => {
    const id = newOrderId();
    const refs = Array.from({ length: MAX_TRADES }, (_, n) => merchantReference(id, n));
    expect(new Set(refs).size).toBe(MAX_TRADES);
    refs.forEach((ref, n) => {
      expect(ref).toMatch(/^[0-9a-f]{32}$/);
      expect(orderIdOf(ref)).toBe(id);
      expect(tradeNoOf(ref)).toBe(n);
    });
    expect(merchantReference(id)).toBe(id.replace(/-/g, ''));
    expect(orderIdOf(id)).toBe(id);
    expect(orderIdOf('not-a-reference')).toBe('not-a-reference');
  });
});

describe('payment input: the flow is resolved, and what a flow needs is required', () => {
  const parse = (p: unknown) => paymentInputSchema.safeParse(p);
  it('defaults: QR for the wallets, the approve link for PayPal; a token with no flow is the older contract', () => {
    expect(parse({ method: 'alipay' }).data).toMatchObject({ flow: 'qr', token: '' });
    expect(parse({ method: 'wechat_pay' }).data).toMatchObject({ flow: 'qr' });
    expect(parse({ method: 'paypal' }).data).toMatchObject({ flow: 'redirect' });
    expect(parse({ method: 'alipay', token: 'tok_ok' }).data).toMatchObject({ flow: 'barcode', token: 'tok_ok' });
    expect(parse({ method: 'paypal', token: 'PAYID' }).data).toMatchObject({ flow: 'token' });
    expect(parse({ method: 'card', token: 'tok_ok' }).data).toMatchObject({ flow: 'token' });
  });
  it('refuses, naming the field: a flow the method lacks, a missing token or openid, a token where the buyer acts', () => {
    const issue = (p: unknown) => parse(p).error?.issues[0];
    expect(issue({ method: 'alipay', flow: 'jsapi' })).toMatchObject({ path: ['flow'] });
    expect(issue({ method: 'card' })).toMatchObject({ path: ['token'] });
    expect(issue({ method: 'wechat_pay', flow: 'jsapi' })).toMatchObject({ path: ['payer', 'openid'] });
    expect(issue({ method: 'alipay', flow: 'qr', token: 'x' })).toMatchObject({ path: ['token'] });
    expect(issue({ method: 'alipay', returnUrl: 'javascript:alert(1)' })).toMatchObject({ path: ['returnUrl'] });
  });
});

describe('following a trade that waits for its buyer', () => {
  it('looks soon at first, then less often, and never past the hold', () => {
    expect(followDelayMs(0, 60_000)).toBe(1_000);
    expect(followDelayMs(120_000, 600_000)).toBe(12_000);
    expect(followDelayMs(3_600_000, 600_000)).toBe(30_000);
    expect(followDelayMs(120_000, 2_000)).toBe(2_250);
  });
});
