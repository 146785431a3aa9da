import type { Database } from './database.js';
import type { Merchants, Shop, ShopStore } from '../domain/ports.js';
import { isUuid } from '../domain/ids.js';

interface ShopRow {
  id: string;
  name: string;
  webhook_url: string | null;
  webhook_secret: string;
}

export function createShopRepository(db: Database): ShopStore {
  return {
    async create(shop) {
      await db.rows(
        'INSERT INTO shops (id, name, api_key_hash, webhook_url, webhook_secret, merchants) VALUES ($1, $2, $3, $4, $5, $6::jsonb)',
        [shop.id, shop.name, shop.apiKeyHash, shop.webhookUrl, shop.webhookSecret, JSON.stringify(shop.merchants ?? {})],
      );
    },
    async findByApiKeyHash(hash) {
      const [row] = await db.rows<ShopRow>(
        'SELECT id, name, webhook_url, webhook_secret FROM shops WHERE api_key_hash = $1',
        [hash],
      );
      return row ? toShop(row) : null;
    },
    async update(id, change) {
      if (!isUuid(id)) return null;
      // jsonb: `||` sets the methods given, `- removed` drops those set to null; one statement, no read first.
      const set = Object.fromEntries(Object.entries(change.merchants ?? {}).filter(([, v]) => v !== null));
      const removed = Object.entries(change.merchants ?? {}).filter(([, v]) => v === null).map(([k]) => k);
      const [row] = await db.rows<ShopRow & { merchants: Merchants }>(
        `UPDATE shops SET name = coalesce($2, name), webhook_url = CASE WHEN $3 THEN $4 ELSE webhook_url END,
                merchants = (merchants || $5::jsonb) - $6::text[]
          WHERE id = $1 RETURNING id, name, webhook_url, webhook_secret, merchants`,
        [id, change.name ?? null, change.webhookUrl !== undefined, change.webhookUrl ?? null, JSON.stringify(set), removed],
      );
      return row ? { ...toShop(row), merchants: row.merchants } : null;
    },
  };
}

const toShop = (r: ShopRow): Shop => ({ id: r.id, name: r.name, webhookUrl: r.webhook_url, webhookSecret: r.webhook_secret });
