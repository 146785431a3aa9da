import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import type { z } from 'zod';
import type { JobDefinition } from '../jobs/job-definition.js';
import { DomainError, Postponed, StoreUnavailable } from '../src/domain/errors.js';
import type { Logger } from '../src/logger.js';

export interface JobContext {
  log: Logger;
  jobId: string;
  attempt: number;
}
export type Handler<P> = (payload: P, ctx: JobContext) => Promise<unknown>;

export interface RunnerOptions<P> {
  /**
   * Runs inside the job when its work is given up (its last attempt failed, or it failed for good), so the
   * decision is recorded in Postgres by the job itself. Its own failure is logged; the reconciler covers it.
   */
  onGivenUp?: (payload: P, ctx: JobContext, error: unknown) => Promise<unknown>;
}

/**
 * The one job runner: parses the payload, logs with job id, queue, attempt and order id, and maps errors.
 * A permanent DomainError (or an unparseable payload) becomes UnrecoverableError, so BullMQ stops retrying;
 * `Postponed` moves the job back to delayed without counting an attempt (BullMQ's DelayedError); everything
 * else is retried under the queue's backoff options.
 */
export function runner<S extends z.ZodType>(def: JobDefinition<S>, handler: Handler<z.output<S>>, logger: Logger, options: RunnerOptions<z.output<S>> = {}) {
  return async (job: Job, token?: string): Promise<unknown> => {
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
    const ctx: JobContext = { log, jobId: job.id ?? '', attempt };
    const started = performance.now();
    try {
      const result = await handler(payload, ctx);
      log.debug({ ms: Math.round(performance.now() - started), result }, 'job done');
      // The Logs tab of Bull Board says why a job did nothing (a retry of finished work, a duplicate...). The
      // usual outcome is not logged there: it would cost a Redis call per job on the hot path.
      if (isNotable(result)) await jobLog(job, `attempt ${attempt}: ${JSON.stringify(result)}`);
      return result;
    } catch (caught) {
      const error = ourDependencyDown(caught) ? new Postponed(`waiting for the database: ${(caught as Error).message}`, DEPENDENCY_WAIT_MS * (0.5 + Math.random())) : caught;
      if (error instanceof Postponed) {
        log.info({ reason: error.message, delayMs: error.delayMs }, 'job postponed');
        await job.moveToDelayed(Date.now() + error.delayMs, token);
        throw new DelayedError(error.message);
      }
      const permanent = error instanceof DomainError && error.permanent;
      const givenUp = permanent || attempt >= (job.opts.attempts ?? 1);
      log.warn({ err: error, permanent, ms: Math.round(performance.now() - started) }, givenUp ? 'job failed for good' : 'job failed; will retry');
      await jobLog(job, `attempt ${attempt} failed${givenUp ? ' for good (not retried)' : ', will retry'}: ${(error as Error).message}`);
      if (givenUp && options.onGivenUp) {
        await options.onGivenUp(payload, ctx, error).catch((err: unknown) => log.warn({ err }, 'could not record the given-up work; the reconciler will'));
      }
      if (permanent) throw new UnrecoverableError((error as Error).message);
      throw error;
    }
  };
}

/**
 * Our own database being down is not the work failing: the job waits for it (as a process start does) and
 * keeps its attempts for the failures they are sized for (a provider's outage), instead of spending them all
 * in a few seconds of a Postgres restart and then backing off for minutes after it is back.
 */
const DEPENDENCY_WAIT_MS = 2_000;
const ourDependencyDown = (error: unknown) => error instanceof StoreUnavailable;

const NOTABLE = new Set(['skipped', 'declined', 'failed', 'refused']);
const isNotable = (result: unknown) => {
  const r = result as { outcome?: unknown; reason?: unknown } | null;
  return typeof r?.outcome === 'string' && (NOTABLE.has(r.outcome) || typeof r.reason === 'string');
};

/** A line in the job's own log (Bull Board's Logs tab). Never fails the job: it is for people, not for state. */
const jobLog = (job: Job, line: string) => job.log(line.slice(0, 2_000)).catch(() => undefined);
