import type { z } from 'zod';

/** Retention keeps Redis bounded however long the system runs; failed jobs stay a week for operators. */
export const RETENTION = {
  removeOnComplete: { age: 3_600, count: 10_000 },
  removeOnFail: { age: 7 * 24 * 3_600, count: 50_000 },
} as const;

export interface JobOptions {
  jobId?: string;
  attempts: number;
  backoff: { type: 'exponential'; delay: number; jitter: number };
  removeOnComplete: { age: number; count: number };
  removeOnFail: { age: number; count: number };
}

/** Everything a queue is, as data: its name, its payload schema, its job ids and its default options. */
export interface JobDefinition<S extends z.ZodType> {
  queue: string;
  payload: S;
  jobId(payload: z.output<S>): string;
  options(retryBaseDelayMs: number): JobOptions;
}
