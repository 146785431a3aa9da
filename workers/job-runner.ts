import { UnrecoverableError, type Job } from 'bullmq';
import type { z } from 'zod';
import type { JobDefinition } from '../jobs/job-definition.js';
import { DomainError } from '../src/domain/errors.js';
import type { Logger } from '../src/logger.js';

export type Handler<P> = (payload: P, ctx: { log: Logger; jobId: string; attempt: number }) => Promise<unknown>;

/**
 * The one job runner: parses the payload, logs with job id, queue, attempt and order id, and maps errors.
 * A permanent DomainError (or an unparseable payload) becomes UnrecoverableError, so BullMQ stops retrying;
 * everything else is retried under the queue's backoff options.
 */
export function runner<S extends z.ZodType>(def: JobDefinition<S>, handler: Handler<z.output<S>>, logger: Logger) {
  return async (job: Job): Promise<unknown> => {
    const attempt = job.attemptsMade + 1;
    const base = { queue: def.queue, jobId: job.id, name: job.name, attempt };
    const parsed = def.payload.safeParse(job.data);
    if (!parsed.success) {
      logger.error({ ...base, issues: parsed.error.issues }, 'job payload does not parse; not retrying');
      throw new UnrecoverableError(`invalid payload: ${parsed.error.issues[0]?.message ?? 'unknown'}`);
    }
    const payload = parsed.data as z.output<S>;
    const orderId = (payload as { orderId?: string }).orderId;
    const log = logger.child(orderId ? { ...base, orderId } : base);
    const started = performance.now();
    try {
      const result = await handler(payload, { log, jobId: job.id ?? '', attempt });
      log.debug({ ms: Math.round(performance.now() - started), result }, 'job done');
      return result;
    } catch (error) {
      const permanent = error instanceof DomainError && error.permanent;
      log.warn({ err: error, permanent, ms: Math.round(performance.now() - started) }, permanent ? 'job failed for good' : 'job failed; will retry');
      if (permanent) throw new UnrecoverableError((error as Error).message);
      throw error;
    }
  };
}
