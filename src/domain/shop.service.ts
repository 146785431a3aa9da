import { randomBytes, randomUUID } from 'node:crypto';
import { sha256Hex } from './ids.js';
import { notFound } from './errors.js';
import type { Merchants, Shop, ShopChange, ShopStore } from './ports.js';

/**
 * API keys carry 256 random bits, so a plain SHA-256 is a sound one-way hash for them (no dictionary to
 * stretch against), and it lets the key itself be looked up by an index on the hash.
 */
export const hashApiKey = (apiKey: string) => sha256Hex(apiKey);

export async function createShop(shops: ShopStore, input: { name: string; webhookUrl?: string | undefined; merchants?: Merchants | undefined }) {
  const apiKey = `ow_live_${randomBytes(32).toString('base64url')}`;
  const shop: Shop = {
    id: randomUUID(),
    name: input.name,
    webhookUrl: input.webhookUrl ?? null,
    webhookSecret: `whsec_${randomBytes(32).toString('base64url')}`,
  };
  await shops.create({ ...shop, apiKeyHash: hashApiKey(apiKey), merchants: input.merchants });
  return { id: shop.id, name: shop.name, webhookUrl: shop.webhookUrl, merchants: input.merchants ?? {}, apiKey, webhookSecret: shop.webhookSecret };
}

/** `PATCH /v1/admin/shops/{id}`: name, webhook URL, merchant accounts. Secrets are never shown again. */
export async function updateShop(shops: ShopStore, id: string, change: ShopChange) {
  const shop = await shops.update(id, change);
  if (!shop) throw notFound('shop');
  return { id: shop.id, name: shop.name, webhookUrl: shop.webhookUrl, merchants: shop.merchants };
}
