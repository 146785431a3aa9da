import type { z } from 'zod';

/** Retention keeps Redis bounded however long the system runs; failed jobs stay a week for operators. */
export const RETENTION = {
  removeOnComplete: { age: 3_600, count: 10_000 },
  removeOnFail: { age: 7 * 24 * 3_600, count: 50_000 },
} as const;

export interface JobOptions {
  jobId?: string;
  attempts: number;
  /** `capped`: exponential up to CAPPED_BACKOFF_MAX_MS, then steady (the worker's backoffStrategy). */
  backoff: { type: 'exponential' | 'capped'; delay: number; jitter: number };
  removeOnComplete: { age: number; count: number };
  removeOnFail: { age: number; count: number };
}

/** Everything a queue is, as data: its name, its payload schema, its job ids and its default options. */
export interface JobDefinition<S extends z.ZodType, Q extends string = string> {
  queue: Q;
  /** For operators (shown in Bull Board): what the queue does, what FAILED means there and whether a retry helps. */
  description: string;
  payload: S;
  jobId(payload: z.output<S>): string;
  /**
   * The business key whose hash picks the job's shard (QUEUE_SHARDS): all jobs of one order share a shard, so
   * one order's work stays in order on one master. `null`: shard 0. Absent: the queue lives on shard 0 alone.
   */
  shardKey?(payload: z.output<S>): string | null;
  /** The job's name in Bull Board and the logs: what it does and for which order, refund or parcel. */
  name(payload: z.output<S>): string;
  options(retryBaseDelayMs: number): JobOptions;
}

/** The longest wait between two attempts of a `capped` backoff: retries go on hourly for as long as they last. */
export const CAPPED_BACKOFF_MAX_MS = 3_600_000;

/** The wait before retry `attemptsMade` (1 = first retry) of a `capped` backoff, with jitter as BullMQ applies it. */
export function cappedBackoff(attemptsMade: number, delay: number, jitter: number, random = Math.random): number {
  const full = Math.min(delay * 2 ** Math.max(0, attemptsMade - 1), CAPPED_BACKOFF_MAX_MS);
  return Math.round(full * (1 - jitter * random()));
}
