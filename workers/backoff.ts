import type { BackoffStrategy } from 'bullmq';
import { cappedBackoff } from '../jobs/job-definition.js';

/**
 * The `capped` backoff of jobs/job-definition.ts, for every Worker's `settings.backoffStrategy`: the job's
 * own base delay and jitter, doubling, each wait capped at an hour.
 */
export const backoffStrategy: BackoffStrategy = (attemptsMade, type, _err, job) => {
  const b = job?.opts.backoff;
  return type === 'capped' && b && typeof b === 'object' ? cappedBackoff(attemptsMade, b.delay ?? 1_000, b.jitter ?? 0) : 0;
};
