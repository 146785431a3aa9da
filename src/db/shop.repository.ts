import type { Database } from './database.js';
import type { Shop, ShopStore } from '../domain/ports.js';

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
        'INSERT INTO shops (id, name, api_key_hash, webhook_url, webhook_secret) VALUES ($1, $2, $3, $4, $5)',
        [shop.id, shop.name, shop.apiKeyHash, shop.webhookUrl, shop.webhookSecret],
      );
    },
    async findByApiKeyHash(hash) {
      const [row] = await db.rows<ShopRow>(
        'SELECT id, name, webhook_url, webhook_secret FROM shops WHERE api_key_hash = $1',
        [hash],
      );
      return row ? toShop(row) : null;
    },
  };
}

const toShop = (r: ShopRow): Shop => ({ id: r.id, name: r.name, webhookUrl: r.webhook_url, webhookSecret: r.webhook_secret });
