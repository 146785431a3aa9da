import { describe, expect, it } from 'vitest';
import { idempotencyKeySchema, orderInputSchema, productInputSchema } from '../../src/domain/order-input.js';
import { fingerprint, newOrderId } from '../../src/domain/ids.js';
import { ORDER_EXAMPLE } from '../../src/http/openapi-schemas.js';

const valid = ORDER_EXAMPLE;

const paths = (input: unknown) => {
  const r = orderInputSchema.safeParse(input);
  return r.success ? [] : r.error.issues.map((i) => i.path.join('.'));
};

describe('order input', () => {
  it('accepts the contract example', () => {
    expect(orderInputSchema.parse(valid)).toEqual({ ...valid, payment: { ...valid.payment, token: '' } });
  });

  it('names each bad field', () => {
    expect(paths({ ...valid, currency: 'cny' })).toEqual(['currency']);
    expect(paths({ ...valid, currency: 'ABC' })).toEqual(['currency']);
    expect(paths({ ...valid, items: [{ sku: '', quantity: 0 }] })).toEqual(['items.0.sku', 'items.0.quantity']);
    expect(paths({ ...valid, items: [{ sku: 'A', quantity: 10_001 }] })).toEqual(['items.0.quantity']);
    expect(paths({ ...valid, payment: { method: 'cash', token: '' } })).toEqual(['payment.method', 'payment.token']);
    expect(paths({ ...valid, customer: undefined })).toEqual(['customer']);
    expect(paths({ ...valid, items: Array.from({ length: 101 }, () => ({ sku: 'A', quantity: 1 })) })).toEqual(['items']);
  });

  it('refuses text Postgres cannot store as sent: NUL and unpaired surrogates, but keeps real pairs', () => {
    expect(paths({ ...valid, customer: { name: 'Li\uDC00' } })).toEqual(['customer.name']);
    expect(paths({ ...valid, externalId: 'a\uD800b' })).toEqual(['externalId']);
    expect(paths({ ...valid, items: [{ sku: 'T\u0000', quantity: 1 }] })).toEqual(['items.0.sku']);
    expect(paths({ ...valid, customer: { name: 'Li 🍵' } })).toEqual([]);
  });

  it('refuses unknown fields instead of ignoring them', () => {
    expect(orderInputSchema.safeParse({ ...valid, discount: 100 }).success).toBe(false);
  });

  it('takes money only as whole minor units', () => {
    expect(productInputSchema.safeParse({ name: 'Tea', priceMinor: 19.99, currency: 'CNY', stock: 1 }).success).toBe(false);
    expect(productInputSchema.safeParse({ name: 'Tea', priceMinor: 1999, currency: 'CNY', stock: 1 }).success).toBe(true);
  });

  it('takes 1 to 255 printable characters as an idempotency key', () => {
    expect(idempotencyKeySchema.safeParse('k-1').success).toBe(true);
    expect(idempotencyKeySchema.safeParse('').success).toBe(false);
    expect(idempotencyKeySchema.safeParse('x'.repeat(256)).success).toBe(false);
    expect(idempotencyKeySchema.safeParse('tab\there').success).toBe(false);
    expect(idempotencyKeySchema.safeParse(undefined).success).toBe(false);
  });
});

describe('ids and fingerprints', () => {
  it('makes time-ordered UUIDv7 order ids', () => {
    const a = newOrderId(1_700_000_000_000);
    const b = newOrderId(1_700_000_000_001);
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(a < b).toBe(true);
  });

  it('fingerprints a body regardless of key order, but not of values', () => {
    expect(fingerprint({ a: 1, b: { c: 2, d: 3 } })).toBe(fingerprint({ b: { d: 3, c: 2 }, a: 1 }));
    expect(fingerprint({ a: 1 })).not.toBe(fingerprint({ a: 2 }));
    expect(fingerprint({ items: [1, 2] })).not.toBe(fingerprint({ items: [2, 1] }));
  });
});
