import { DataTypes, Model, Op, type Sequelize, type WhereOptions } from 'sequelize';
import type { AdminOrderQuery, OrderSummary } from '../../domain/order-lookup.ports.js';
import { classify } from '../database.js';

/**
 * The `orders` table as a Sequelize model, read-only and for the operators' cold paths (search across shops).
 * The hot paths (intake, placement, capture) keep their hand-written statements; this model never writes.
 */
class OrderRecord extends Model {
  declare id: string;
  declare shopId: string;
  declare externalId: string | null;
  declare status: string;
  declare statusReason: string | null;
  declare currency: string;
  declare totalMinor: number | null;
  declare paymentMethod: string;
  declare paymentStatus: string;
  declare createdAt: Date;
  declare updatedAt: Date;
}

export function defineOrderSummaries(sequelize: Sequelize) {
  const Order = sequelize.isDefined('OrderRecord')
    ? (sequelize.model('OrderRecord') as typeof OrderRecord)
    : OrderRecord.init(
        {
          id: { type: DataTypes.UUID, primaryKey: true },
          shopId: { type: DataTypes.UUID, field: 'shop_id' },
          externalId: { type: DataTypes.TEXT, field: 'external_id' },
          status: DataTypes.TEXT,
          statusReason: { type: DataTypes.TEXT, field: 'status_reason' },
          currency: DataTypes.CHAR(3),
          totalMinor: { type: DataTypes.BIGINT, field: 'total_minor' },
          paymentMethod: { type: DataTypes.TEXT, field: 'payment_method' },
          paymentStatus: { type: DataTypes.TEXT, field: 'payment_status' },
          createdAt: { type: DataTypes.DATE, field: 'created_at' },
          updatedAt: { type: DataTypes.DATE, field: 'updated_at' },
        },
        { sequelize, modelName: 'OrderRecord', tableName: 'orders', timestamps: false },
      );

  const summary = (o: OrderRecord): OrderSummary => ({
    id: o.id, shopId: o.shopId, externalId: o.externalId, status: o.status, statusReason: o.statusReason,
    currency: o.currency.trim(), totalMinor: o.totalMinor === null ? null : Number(o.totalMinor),
    paymentMethod: o.paymentMethod, paymentStatus: o.paymentStatus, createdAt: o.createdAt, updatedAt: o.updatedAt,
  });

  return {
    /** Newest first; `q` is an order id or a shop's `externalId`. */
    async search(q: AdminOrderQuery): Promise<OrderSummary[]> {
      const where: WhereOptions[] = [];
      if (q.shopId) where.push({ shopId: q.shopId });
      if (q.status) where.push({ status: q.status });
      if (q.after) where.push({ id: { [Op.lt]: q.after } });
      if (q.text) where.push(q.textIsId ? { [Op.or]: [{ id: q.text }, { externalId: q.text }] } : { externalId: q.text });
      const rows = await Order.findAll({ where: { [Op.and]: where }, order: [['id', 'DESC']], limit: q.limit }).catch(rethrowClassified);
      return rows.map(summary);
    },
    async shopOf(orderId: string): Promise<string | null> {
      const row = await Order.findByPk(orderId, { attributes: ['shopId'] }).catch(rethrowClassified);
      return row?.shopId ?? null;
    },
  };
}

/** A model's failure is classified like a raw statement's: a database blip is a 503, not a 500. */
function rethrowClassified(error: unknown): never {
  throw classify(error);
}
