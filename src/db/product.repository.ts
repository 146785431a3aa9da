import type { Database } from './database.js';
import type { Product, ProductStore } from '../domain/ports.js';

interface ProductRow {
  sku: string;
  name: string;
  price_minor: number;
  currency: string;
  stock: number;
  reserved: number;
  created: boolean;
}

const COLUMNS = 'sku, name, price_minor, currency, stock, reserved';

export function createProductRepository(db: Database): ProductStore {
  return {
    async upsert(shopId, sku, p) {
      // xmax = 0 only on a freshly inserted row: tells created from updated in the same round trip.
      const [row] = await db.rows<ProductRow>(
        `INSERT INTO products (shop_id, sku, name, price_minor, currency, stock)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (shop_id, sku) DO UPDATE
           SET name = EXCLUDED.name, price_minor = EXCLUDED.price_minor, currency = EXCLUDED.currency,
               stock = EXCLUDED.stock, updated_at = now()
         RETURNING ${COLUMNS}, (xmax = 0) AS created`,
        [shopId, sku, p.name, p.priceMinor, p.currency, p.stock],
      );
      return { product: toProduct(row!), created: row!.created };
    },
    async get(shopId, sku) {
      const [row] = await db.rows<ProductRow>(`SELECT ${COLUMNS} FROM products WHERE shop_id = $1 AND sku = $2`, [shopId, sku]);
      return row ? toProduct(row) : null;
    },
  };
}

const toProduct = (r: ProductRow): Product => ({
  sku: r.sku,
  name: r.name,
  priceMinor: r.price_minor,
  currency: r.currency,
  stock: r.stock,
  reserved: r.reserved,
});
