import { maintenanceJob } from '../jobs/maintenance.job.js';
import { reconcile, type ReconcileOptions, type ReconcilerDeps } from '../src/domain/reconciler.js';
import type { Logger } from '../src/logger.js';
import { runner } from './job-runner.js';

/** `maintenance`: the reconciler restarts the follow-up work whose job Redis lost, failed or finished. */
export function maintenanceProcessor(deps: { reconciler: ReconcilerDeps; options: ReconcileOptions; logger: Logger }) {
  return runner(
    maintenanceJob,
    async (_payload, { log }) => {
      const result = await reconcile(deps.reconciler, deps.options);
      if (result.notStarted > 0 || Object.values(result.restarted).some((n) => n > 0)) log.warn(result, 'reconciler restarted lost work');
      return result;
    },
    deps.logger,
  );
}
