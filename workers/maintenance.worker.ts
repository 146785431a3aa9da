import { maintenanceJob } from '../jobs/maintenance.job.js';
import { repairReceivedOrders } from '../src/domain/order.service.js';
import { repairPayments, type PaymentDeps } from '../src/domain/payment.service.js';
import type { JobInspector, OrderStore } from '../src/domain/ports.js';
import type { Logger } from '../src/logger.js';
import { runner } from './job-runner.js';
import { repairWebhookDeliveries } from '../src/webhooks/webhook-delivery.service.js';
import type { WebhookStore } from '../src/webhooks/webhook-ports.js';
import type { WebhookJobs } from '../src/queue/webhook-publisher.js';

interface MaintenanceDeps {
  orders: OrderStore;
  inspect: JobInspector;
  payment: PaymentDeps;
  webhooks: { store: WebhookStore; jobs: WebhookJobs };
  staleAfterMs: number;
  holdExpiresMs: number;
  logger: Logger;
}

/** `maintenance`: the repair sweep puts back on track orders and refunds whose job was lost. */
export function maintenanceProcessor(deps: MaintenanceDeps) {
  return runner(
    maintenanceJob,
    async (_payload, { log }) => {
      const placement = await repairReceivedOrders(deps, deps.staleAfterMs);
      const payments = await repairPayments(deps.payment, { staleAfterMs: deps.staleAfterMs, holdExpiresMs: deps.holdExpiresMs });
      const webhooks = await repairWebhookDeliveries(deps.webhooks, { staleAfterMs: deps.staleAfterMs });
      const repaired = { ...placement, ...payments, webhooks: webhooks.enqueued };
      if (Object.values(repaired).some((n) => n > 0)) log.warn(repaired, 'repair sweep put work back on track');
      return repaired;
    },
    deps.logger,
  );
}
