import { paymentRefundJob } from '../jobs/payment-refund.job.js';
import { processRefund, type PaymentDeps } from '../src/domain/payment.service.js';
import type { Logger } from '../src/logger.js';
import { runner } from './job-runner.js';

/** `payment-refund`: one refund, once at the provider. */
export function paymentRefundProcessor(deps: PaymentDeps & { logger: Logger }) {
  return runner(
    paymentRefundJob,
    async ({ refundId }, { log }) => {
      const result = await processRefund(deps, refundId);
      log.info({ refundId, ...result }, 'refund');
      return result;
    },
    deps.logger,
  );
}
