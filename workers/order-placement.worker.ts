import { orderPlacementJob } from '../jobs/order-placement.job.js';
import { placeOrder } from '../src/domain/order.service.js';
import { captureAfterPlacement, type PaymentDeps } from '../src/domain/payment.service.js';
import type { OrderStore } from '../src/domain/ports.js';
import type { PaymentJobs } from '../src/domain/payment-ports.js';
import type { Logger } from '../src/logger.js';
import type { OrderRef, ShopLookup } from '../src/domain/keys.js';
import { orderOfJob } from './job-shop.js';
import { runner } from './job-runner.js';

/**
 * `order-placement`: price the order and reserve its stock, once; then ask for its payment. With `charge` (a
 * process that also serves `payment-capture`), the job makes the first capture itself and hands the order to
 * its capture job only if that does not settle it: most orders then cost one job, not two. Without it, the
 * capture job does all of it (a worker split by WORKER_QUEUES leaves payments to the processes serving them).
 */
export function orderPlacementProcessor(deps: { orders: OrderStore; payments: PaymentJobs; charge?: PaymentDeps; shops: ShopLookup; logger: Logger }) {
  const { charge } = deps;
  return runner(
    orderPlacementJob,
    async (job, { log }) => {
      const order = await orderOfJob(deps.shops, job);
      const capture = charge
        ? async (ref: OrderRef) => {
          const payment = await captureAfterPlacement(charge, ref);
          log.info(payment, 'payment');
          return payment.outcome !== 'handed_over' || payment.queued;
        }
        : deps.payments.capture;
      // No such order: reported as placement reports an id that is no order's.
      const result = order ? await placeOrder({ orders: deps.orders, payments: { capture } }, order) : { outcome: 'skipped' as const, status: 'rejected' as const };
      log.info(result, 'order placement');
      return result;
    },
    deps.logger,
  );
}
