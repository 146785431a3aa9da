import pg from 'pg';
import { withBuyers } from './buyer.js';
import { postAndSettle } from './load.js';
import { int, rate, type Row } from './report.js';
import type { BenchSettings } from './settings.js';
import { createBenchShop, orderBody } from './shop.js';
import type { BenchSystem } from './system.js';

const SKU = 'FLASH-001';

/**
 * The baseline, pgbench style: `count` autocommit single-row updates of the flash SKU's own row from
 * `connections` connections. Its stock is raised by `count` first, so every update takes one and the
 * row ends where it started.
 */
export async function singleRowUpdates(sys: BenchSystem, productId: number, count: number, connections: number): Promise<number> {
  await sys.pool.query('UPDATE products SET stock = stock + $2 WHERE id = $1', [productId, count]);
  const clients = await Promise.all(
    Array.from({ length: connections }, async () => {
      const c = new pg.Client({ connectionString: sys.databaseUrl });
      await c.connect();
      return c;
    }),
  );
  let issued = 0;
  const t0 = performance.now();
  try {
    await Promise.all(
      clients.map(async (c) => {
        while (issued < count) {
          issued++;
          await c.query('UPDATE products SET stock = stock - 1 WHERE id = $1 AND stock > 0', [productId]);
        }
      }),
    );
    return count / ((performance.now() - t0) / 1000);
  } finally {
    await Promise.all(clients.map((c) => c.end()));
  }
}

export interface FlashOutcome {
  sold: number;
  rejectedOutOfStock: number;
  stockLeft: number;
  noOversell: boolean;
  exact: boolean;
}

/** Orders for one SKU with far less stock than orders, workers running: every order must end paid or out_of_stock. */
export async function flashSaleScenario(sys: BenchSystem, settings: BenchSettings): Promise<{ rows: Row[]; outcome: FlashOutcome }> {
  const stock = settings.flashStock;
  const shop = await createBenchShop(sys, 'bench-flash', [{ sku: SKU, stock }]);
  const [product] = (await sys.pool.query<{ id: number }>('SELECT id FROM products WHERE shop_id = $1 AND sku = $2', [shop.id, SKU])).rows;
  const updatesPerSecond = await singleRowUpdates(sys, Number(product!.id), settings.updateCount, settings.updateConnections);

  const n = settings.flashOrders;
  const { result: run } = await withBuyers(sys.pool, sys, shop, settings, () =>
    postAndSettle(sys.pool, sys.base, shop, n, settings.connections, (i) => orderBody(settings, SKU, i), settings.waitTimeoutMs));
  const { rows: [after] } = await sys.pool.query<{ stock: number; held: number }>(
    `SELECT p.stock,
            (SELECT coalesce(sum(i.quantity), 0)::int FROM order_items i JOIN orders o ON o.id = i.order_id
              WHERE i.product_id = p.id AND o.stock_state IN ('reserved', 'sold')) AS held
       FROM products p WHERE p.id = $1`,
    [product!.id],
  );
  const sold = (run.counts.paid ?? 0) + (run.counts.placed ?? 0);
  const outcome: FlashOutcome = {
    sold,
    rejectedOutOfStock: run.counts['rejected:out_of_stock'] ?? 0,
    stockLeft: after!.stock,
    // Never more held than there was, and stock plus what orders hold adds up to what there was.
    noOversell: sold <= stock && after!.held <= stock && after!.stock >= 0 && after!.stock + after!.held === stock,
    exact: sold === stock && (run.counts['rejected:out_of_stock'] ?? 0) === run.counts.total! - stock,
  };
  const perSecond = run.counts.total! / run.seconds;
  return {
    outcome,
    rows: [
      {
        scenario: '3 flash sale',
        measure: `${int(n)} orders for 1 SKU with ${int(stock)} in stock, first POST to all settled`,
        orderworks: rate(perSecond),
        baseline: `${rate(updatesPerSecond, 'updates/s')} (single-row UPDATE of that SKU, ${settings.updateConnections} connections, ${int(settings.updateCount)} updates)`,
        ratio: perSecond / updatesPerSecond,
        target: '>= 1.00',
        met: perSecond / updatesPerSecond >= 1,
      },
      {
        scenario: '3 flash sale',
        measure: 'outcome',
        orderworks: `${int(sold)} placed (${int(run.counts.paid ?? 0)} paid), ${int(outcome.rejectedOutOfStock)} rejected out_of_stock, stock left ${outcome.stockLeft}`,
        baseline: `expected ${int(stock)} placed, ${int(run.counts.total! - stock)} out_of_stock`,
        ratio: null,
        target: 'no oversell',
        met: outcome.noOversell && outcome.exact,
      },
      {
        scenario: '3 flash sale',
        measure: 'no oversell',
        orderworks: outcome.noOversell ? 'PASS' : 'FAIL',
        baseline: '',
        ratio: null,
        target: 'PASS',
        met: outcome.noOversell,
      },
    ],
  };
}
