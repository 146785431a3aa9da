import { orderPlacementJob } from '../jobs/order-placement.job.js';
import { placeOrder } from '../src/domain/order.service.js';
import type { OrderStore } from '../src/domain/ports.js';
import type { PaymentJobs } from '../src/domain/payment-ports.js';
import type { Logger } from '../src/logger.js';
import { runner } from './job-runner.js';

/** `order-placement`: price the order and reserve its stock, once; then ask for its payment. */
export function orderPlacementProcessor(deps: { orders: OrderStore; payments: PaymentJobs; logger: Logger }) {
  return runner(
    orderPlacementJob,
    async ({ orderId }, { log }) => {
      const result = await placeOrder(deps, orderId);
      log.info(result, 'order placement');
      return result;
    },
    deps.logger,
  );
}
