import type { Database } from './database.js';
import { isUuid } from '../domain/ids.js';
import type { ShopLookup } from '../domain/keys.js';

/** The statements that find a row by its id alone (indexes `orders_by_id`, `refunds_by_id`, `shipments_by_id`). */
export function createShopLookup(db: Database): ShopLookup {
  const one = async (sql: string, id: string) => (isUuid(id) ? ((await db.rows<{ shop_id: string }>(sql, [id]))[0]?.shop_id ?? null) : null);
  return {
    ofOrder: (orderId) => one('SELECT shop_id FROM orders WHERE id = $1', orderId),
    ofRefund: (refundId) => one('SELECT shop_id FROM refunds WHERE id = $1', refundId),
    async ofShipments(ids) {
      const valid = ids.filter(isUuid);
      if (!valid.length) return [];
      return db.rows<{ id: string; shopId: string }>('SELECT id, shop_id AS "shopId" FROM shipments WHERE id = ANY($1::uuid[])', [valid]);
    },
  };
}
