import { paymentCaptureJob } from '../jobs/payment-capture.job.js';
import { abandonPayment, capturePayment, giveUpCapture, type PaymentDeps } from '../src/domain/payment.service.js';
import type { Logger } from '../src/logger.js';
import { runner } from './job-runner.js';

/** `payment-capture`: charge a placed order once, or give up on it after asking the provider. */
export function paymentCaptureProcessor(deps: PaymentDeps & { logger: Logger }) {
  return runner(
    paymentCaptureJob,
    async (job, { log }) => {
      const result = job.kind === 'capture' ? await capturePayment(deps, job.orderId) : await abandonPayment(deps, job.orderId, job.reason);
      log.info({ kind: job.kind, ...result }, 'payment');
      return result;
    },
    deps.logger,
    // A capture out of attempts gives up on the payment itself; an abandon job out of attempts is retried by
    // the reconciler, which finds the order still placed with its capture failed.
    { onGivenUp: (job) => (job.kind === 'capture' ? giveUpCapture(deps, job.orderId) : Promise.resolve()) },
  );
}
