import { maintenanceJob } from '../jobs/maintenance.job.js';
import { repairReceivedOrders } from '../src/domain/order.service.js';
import type { JobInspector, OrderStore } from '../src/domain/ports.js';
import type { Logger } from '../src/logger.js';
import { runner } from './job-runner.js';

/** `maintenance`: the repair sweep puts back on track orders whose job was lost. */
export function maintenanceProcessor(deps: { orders: OrderStore; inspect: JobInspector; staleAfterMs: number; logger: Logger }) {
  return runner(
    maintenanceJob,
    async (_payload, { log }) => {
      const repaired = await repairReceivedOrders(deps, deps.staleAfterMs);
      if (repaired.requeued) log.warn(repaired, 'repair sweep re-enqueued orders');
      return repaired;
    },
    deps.logger,
  );
}
