import { webhookDeliveryJob } from '../jobs/webhook-delivery.job.js';
import { deliverOrderEvents, redeliverEvent, type WebhookDeliveryDeps } from '../src/webhooks/webhook-delivery.service.js';
import type { Logger } from '../src/logger.js';
import { runner } from './job-runner.js';

/**
 * `webhook-delivery`: an order's pending events, in order, or one redelivery. Failures (5xx, timeouts) are
 * retried under the job's backoff; waiting for another run of the order, or yielding after a long run, puts the
 * job back without using an attempt (the runner's Postponed).
 */
export function webhookDeliveryProcessor(deps: WebhookDeliveryDeps & { logger: Logger }) {
  return runner(
    webhookDeliveryJob,
    async (p, { log }) => {
      const result = p.kind === 'deliver' ? await deliverOrderEvents(deps, p.orderId) : await redeliverEvent(deps, p.orderId, p.eventId);
      log.info({ kind: p.kind, ...result }, 'webhooks');
      return result;
    },
    deps.logger,
  );
}
