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
      // The Logs tab of Bull Board says why a job did nothing (a retry of finished work, a duplicate...). The
      // usual outcome is not logged there: it would cost a Redis call per job on the hot path.
      if (isNotable(result)) await jobLog(job, `attempt ${attempt}: ${JSON.stringify(result)}`);
      return result;
    } catch (error) {
      const permanent = error instanceof DomainError && error.permanent;
      log.warn({ err: error, permanent, ms: Math.round(performance.now() - started) }, permanent ? 'job failed for good' : 'job failed; will retry');
      await jobLog(job, `attempt ${attempt} failed${permanent ? ' for good (not retried)' : ', will retry'}: ${(error as Error).message}`);
      if (permanent) throw new UnrecoverableError((error as Error).message);
      throw error;
    }
  };
}

const NOTABLE = new Set(['skipped', 'declined', 'failed', 'refused']);
const isNotable = (result: unknown) => {
  const r = result as { outcome?: unknown; reason?: unknown } | null;
  return typeof r?.outcome === 'string' && (NOTABLE.has(r.outcome) || typeof r.reason === 'string');
};

/** A line in the job's own log (Bull Board's Logs tab). Never fails the job: it is for people, not for state. */
const jobLog = (job: Job, line: string) => job.log(line.slice(0, 2_000)).catch(() => undefined);
