import type { Queue } from 'bullmq';

type Template = NonNullable<Parameters<Queue['upsertJobScheduler']>[2]>;

/**
 * Makes `id` produce a job every `every` ms, as BullMQ's upsertJobScheduler does, except when the interval
 * changed. Upsert then keeps the scheduler's offset (its phase within the old interval), which can be longer
 * than the new interval: a tick that runs late is then rescheduled up to the old offset ahead (minutes, from a
 * 15-minute interval down to seconds). A scheduler whose interval changed, or whose offset is not within its
 * interval, is removed and made afresh, so its next job is at most one new interval away.
 */
export async function scheduleEvery(queue: Queue, id: string, every: number, template: Template): Promise<void> {
  const existing = await queue.getJobScheduler(id);
  if (existing && (existing.every !== every || (existing.offset ?? 0) >= every)) await queue.removeJobScheduler(id);
  await queue.upsertJobScheduler(id, { every }, template);
}
