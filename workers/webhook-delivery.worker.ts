import { webhookDeliveryJob } from '../jobs/webhook-delivery.job.js';
import { deliverOrderEvents, redeliverEvent, type WebhookDeliveryDeps } from '../src/webhooks/webhook-delivery.service.js';
import type { Logger } from '../src/logger.js';
import type { ShopLookup } from '../src/domain/keys.js';
import { orderOfJob } from './job-shop.js';
import { runner } from './job-runner.js';

/**
 * `webhook-delivery`: an order's pending events, in order, or one redelivery. Failures (5xx, timeouts) are
 * retried under the job's backoff; waiting for another run of the order, or yielding after a long run, puts the
 * job back without using an attempt (the runner's Postponed).
 */
export function webhookDeliveryProcessor(deps: WebhookDeliveryDeps & { shops: ShopLookup; logger: Logger }) {
  return runner(
    webhookDeliveryJob,
    async (p, { log }) => {
      const order = await orderOfJob(deps.shops, p);
      if (!order) return { kind: p.kind, delivered: 0, failed: 0, skipped: 0 };
      const result = p.kind === 'deliver' ? await deliverOrderEvents(deps, order) : await redeliverEvent(deps, order, p.eventId);
      log.info({ kind: p.kind, ...result }, 'webhooks');
      return result;
    },
    deps.logger,
  );
}
