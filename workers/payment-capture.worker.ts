import { paymentCaptureJob } from '../jobs/payment-capture.job.js';
import { abandonPayment, capturePayment, giveUpCapture, type PaymentDeps } from '../src/domain/payment.service.js';
import type { Logger } from '../src/logger.js';
import type { ShopLookup } from '../src/domain/keys.js';
import { orderOfJob } from './job-shop.js';
import { runner } from './job-runner.js';

/** `payment-capture`: charge a placed order once, or give up on it after asking the provider. */
export function paymentCaptureProcessor(deps: PaymentDeps & { shops: ShopLookup; logger: Logger }) {
  return runner(
    paymentCaptureJob,
    async (job, { log }) => {
      const order = await orderOfJob(deps.shops, job);
      if (!order) return { kind: job.kind, outcome: 'skipped' as const, reason: 'no such order' };
      const result = job.kind === 'capture' ? await capturePayment(deps, order) : await abandonPayment(deps, order, job.reason);
      log.info({ kind: job.kind, ...result }, 'payment');
      return result;
    },
    deps.logger,
    // A capture out of attempts gives up on the payment itself; an abandon job out of attempts is retried by
    // the reconciler, which finds the order still placed with its capture failed.
    {
      onGivenUp: async (job) => {
        const order = job.kind === 'capture' ? await orderOfJob(deps.shops, job) : null;
        if (order) await giveUpCapture(deps, order);
      },
    },
  );
}
