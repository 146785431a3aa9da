import { z } from 'zod';
import { RETENTION, type JobDefinition } from './job-definition.js';

/**
 * Periodic upkeep, fired by a BullMQ job scheduler: once per tick however many workers run. No shard key: the
 * queue lives on shard 0 alone, one scheduler for the deployment.
 */
const payload = z.object({ v: z.literal(1).default(1), task: z.enum(['repair-sweep']) });

export const maintenanceJob: JobDefinition<typeof payload, 'maintenance'> = {
  queue: 'maintenance',
  description:
    "The reconciler's ticks: re-enqueues work whose job was lost and ends expired holds. FAILED: one tick could not finish (usually Postgres or Redis down); the next tick runs anyway, so a retry is harmless and rarely needed.",
  payload,
  jobId: (p) => `maintenance-${p.task}`,
  name: () => 'reconcile: restart follow-up work whose job was lost',
  options: (base) => ({
    attempts: 1,
    backoff: { type: 'exponential', delay: base, jitter: 0.5 },
    removeOnComplete: { age: 600, count: 100 },
    removeOnFail: RETENTION.removeOnFail,
  }),
};
export type MaintenancePayload = z.output<typeof payload>;
