import type { RejectionReason } from './order.js';

export interface CatalogEntry {
  productId: number;
  priceMinor: number;
  currency: string;
}

export interface PricedLine {
  sku: string;
  quantity: number;
  productId: number;
  unitPriceMinor: number;
  lineTotalMinor: number;
}

export type PricingResult =
  | { ok: true; lines: PricedLine[]; totalMinor: number; reservations: Map<number, number> }
  | { ok: false; reason: RejectionReason; detail: string };

/**
 * Prices each line from the shop's catalog. Pure: the caller reserves the stock. Money is integer minor
 * units; sums go through BigInt so an absurd order is refused instead of silently rounded.
 */
export function priceOrder(
  lines: ReadonlyArray<{ sku: string; quantity: number }>,
  catalog: ReadonlyMap<string, CatalogEntry>,
  currency: string,
): PricingResult {
  const priced: PricedLine[] = [];
  const reservations = new Map<number, number>();
  let total = 0n;
  for (const line of lines) {
    const product = catalog.get(line.sku);
    if (!product) return { ok: false, reason: 'unknown_sku', detail: `unknown sku ${JSON.stringify(line.sku)}` };
    if (product.currency !== currency) {
      return {
        ok: false,
        reason: 'currency_mismatch',
        detail: `sku ${JSON.stringify(line.sku)} is priced in ${product.currency}, the order is in ${currency}`,
      };
    }
    const lineTotal = BigInt(product.priceMinor) * BigInt(line.quantity);
    total += lineTotal;
    priced.push({
      sku: line.sku,
      quantity: line.quantity,
      productId: product.productId,
      unitPriceMinor: product.priceMinor,
      lineTotalMinor: Number(lineTotal),
    });
    reservations.set(product.productId, (reservations.get(product.productId) ?? 0) + line.quantity);
  }
  if (total > BigInt(Number.MAX_SAFE_INTEGER)) {
    return { ok: false, reason: 'total_too_large', detail: 'the order total is too large to charge' };
  }
  return { ok: true, lines: priced, totalMinor: Number(total), reservations };
}
