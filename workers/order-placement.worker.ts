import { orderPlacementJob } from '../jobs/order-placement.job.js';
import { placeOrder } from '../src/domain/order.service.js';
import type { OrderStore } from '../src/domain/ports.js';
import type { PaymentJobs } from '../src/domain/payment-ports.js';
import type { Logger } from '../src/logger.js';
import type { ShopLookup } from '../src/domain/keys.js';
import { orderOfJob } from './job-shop.js';
import { runner } from './job-runner.js';

/** `order-placement`: price the order and reserve its stock, once; then ask for its payment. */
export function orderPlacementProcessor(deps: { orders: OrderStore; payments: PaymentJobs; shops: ShopLookup; logger: Logger }) {
  return runner(
    orderPlacementJob,
    async (job, { log }) => {
      const order = await orderOfJob(deps.shops, job);
      // No such order: reported as placement reports an id that is no order's.
      const result = order ? await placeOrder(deps, order) : { outcome: 'skipped' as const, status: 'rejected' as const };
      log.info(result, 'order placement');
      return result;
    },
    deps.logger,
  );
}
