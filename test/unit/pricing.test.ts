import { describe, expect, it } from 'vitest';
import { priceOrder, type CatalogEntry } from '../../src/domain/pricing.js';

const catalog = new Map<string, CatalogEntry>([
  ['TEA', { productId: 1, priceMinor: 1999, currency: 'CNY' }],
  ['CUP', { productId: 2, priceMinor: 500, currency: 'CNY' }],
  ['USD', { productId: 3, priceMinor: 100, currency: 'USD' }],
  ['GOLD', { productId: 4, priceMinor: 1_000_000_000_000, currency: 'CNY' }],
]);

describe('priceOrder', () => {
  it('prices each line from the catalog in integer minor units', () => {
    const r = priceOrder([{ sku: 'TEA', quantity: 3 }, { sku: 'CUP', quantity: 1 }], catalog, 'CNY');
    expect(r).toMatchObject({ ok: true, totalMinor: 6497 });
    if (!r.ok) throw new Error('unreachable');
    expect(r.lines.map((l) => [l.sku, l.unitPriceMinor, l.lineTotalMinor])).toEqual([['TEA', 1999, 5997], ['CUP', 500, 500]]);
  });

  it('sums the quantity of a sku that appears on several lines into one reservation', () => {
    const r = priceOrder([{ sku: 'TEA', quantity: 2 }, { sku: 'CUP', quantity: 1 }, { sku: 'TEA', quantity: 5 }], catalog, 'CNY');
    if (!r.ok) throw new Error('expected ok');
    expect([...r.reservations]).toEqual([[1, 7], [2, 1]]);
  });

  it('rejects an unknown sku', () => {
    expect(priceOrder([{ sku: 'TEA', quantity: 1 }, { sku: 'NOPE', quantity: 1 }], catalog, 'CNY')).toMatchObject({ ok: false, reason: 'unknown_sku' });
  });

  it('rejects a line priced in another currency', () => {
    expect(priceOrder([{ sku: 'USD', quantity: 1 }], catalog, 'CNY')).toMatchObject({ ok: false, reason: 'currency_mismatch' });
  });

  it('refuses a total past the safe integer range rather than rounding it', () => {
    expect(priceOrder([{ sku: 'GOLD', quantity: 10_000 }], catalog, 'CNY')).toMatchObject({ ok: false, reason: 'total_too_large' });
  });
});
