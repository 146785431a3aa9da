import { z } from 'zod';
import { RETENTION, type JobDefinition } from './job-definition.js';

/**
 * `fan-out` is fired by the job scheduler every TRACKING_REFRESH_EVERY_MS: it claims the shipments that are
 * due and queues `poll` batches of one carrier each. Ids only: `carrier` is a carrier's code, which the worker
 * checks against the carriers it knows (a job queued before a deploy that dropped a carrier fails for good there).
 */
const payload = z.discriminatedUnion('kind', [
  z.object({ v: z.literal(1).default(1), kind: z.literal('fan-out') }),
  z.object({
    v: z.literal(1).default(1),
    kind: z.literal('poll'),
    carrier: z.string().regex(/^[a-z0-9_]{1,32}$/),
    shipmentIds: z.array(z.uuid()).min(1).max(100),
    // Each shipment's shop, in the order of shipmentIds. Absent from batches queued before it: their shops are
    // looked up by the shipment ids.
    shopIds: z.array(z.uuid()).min(1).max(100).optional(),
    // A tick's batch: when its tick is over (epoch ms). Absent on a new shipment's first poll, which claims its
    // parcels itself and never waits for the carrier's limit; a batch queued before this field existed is read as
    // one, finds its parcels claimed by its tick, and leaves them to a later tick.
    until: z.number().int().positive().optional(),
  }),
]);

export const trackingPollJob: JobDefinition<typeof payload, 'tracking-poll'> = {
  queue: 'tracking-poll',
  description:
    "Asks carriers for news of open shipments, within each carrier's rate limit; a parcel's first poll also subscribes it to its carrier's push (Kuaidi100). FAILED: the carrier kept failing for this batch; the next scheduled refresh asks again, so a retry is optional.",
  payload,
  // Duplicates are prevented upstream: a shipment is claimed (its next poll pushed forward) before its batch
  // is queued, so no two batches hold it. Each batch is therefore its own job.
  jobId: (p) => (p.kind === 'poll' ? `poll-${p.shipmentIds[0]}-${Date.now()}` : 'fan-out'),
  // Nothing looks a poll up by id: batches spread by their first parcel; the scheduler's fan-out stays on shard 0.
  shardKey: (p) => (p.kind === 'poll' ? p.shipmentIds[0]! : null),
  name: (p) => (p.kind === 'poll' ? `ask ${p.carrier} about ${p.shipmentIds.length} parcel(s) from shipment ${p.shipmentIds[0]}` : 'find the parcels due for tracking'),
  // Carrier failures are handled inside the job (deferred per shipment); retries only cover our own faults.
  options: (base) => ({ attempts: 5, backoff: { type: 'exponential', delay: base, jitter: 0.5 }, ...RETENTION }),
};
export type TrackingPollPayload = z.output<typeof payload>;

/** The job scheduler's id: one per deployment, whatever the number of worker processes. */
export const TRACKING_SCHEDULER_ID = 'tracking-refresh';
