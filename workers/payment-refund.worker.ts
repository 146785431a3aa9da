import { paymentRefundJob } from '../jobs/payment-refund.job.js';
import { processRefund, type PaymentDeps } from '../src/domain/payment.service.js';
import type { Logger } from '../src/logger.js';
import type { ShopLookup } from '../src/domain/keys.js';
import { refundOfJob } from './job-shop.js';
import { runner } from './job-runner.js';

/** `payment-refund`: one refund, once at the provider. */
export function paymentRefundProcessor(deps: PaymentDeps & { shops: ShopLookup; logger: Logger }) {
  return runner(
    paymentRefundJob,
    async (job, { log }) => {
      const { refundId } = job;
      const refund = await refundOfJob(deps.shops, job);
      const result = refund ? await processRefund(deps, refund) : { outcome: 'skipped' as const };
      log.info({ refundId, ...result }, 'refund');
      return result;
    },
    deps.logger,
  );
}
