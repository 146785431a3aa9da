import { CARRIERS, type CarrierCode, type TrackingQuery } from './carrier.js';
import { estimateDelivery, type DeliveredTransit } from './delivery-estimate.js';
import { conflict, DomainError } from './errors.js';
import { SHIPMENT } from './order-lifecycle.js';
import type { PushState, RateLimiter, ShipmentStore, TrackedShipment, TrackingJobs } from './tracking-ports.js';
import { storeSnapshot, type PolledClient } from './tracking-snapshot.js';

export { EXCEPTION_POLL_FACTOR, PUSHED_POLL_FACTOR } from './tracking-snapshot.js';

export interface TrackingDeps {
  shipments: ShipmentStore;
  carriers: Record<CarrierCode, PolledClient>;
  jobs: TrackingJobs;
  limiter: RateLimiter;
  /** How often open shipments are refreshed (TRACKING_REFRESH_EVERY_MS). */
  refreshEveryMs: number;
  /** Calls per second allowed to each carrier, across all processes. */
  carrierCallsPerSecond: number;
  /** A parcel without news for this long is delayed (TRACKING_STALE_AFTER_MS). */
  staleAfterMs: number;
}

/** What creating a shipment needs: the carriers' published service levels give its first estimate. */
export type ShipmentCreationDeps = Pick<TrackingDeps, 'shipments' | 'jobs' | 'refreshEveryMs'> & {
  serviceLevelHours: Readonly<Record<CarrierCode, number>>;
  /** Carriers this deployment cannot track (no credentials), each with why: their shipments are refused. */
  unconfigured?: Readonly<Partial<Record<CarrierCode, string>>>;
};

/** Polls go out in batches of this many shipments of one carrier. */
export const POLL_BATCH = 25;
/** An `exception` (polled EXCEPTION_POLL_FACTOR times less often) is not polled at all once it has had no news for this long: the parcel is the shop's to chase. */
export const EXCEPTION_GIVE_UP_MS = 14 * 24 * 3_600_000;
/** Delays flagged per tick at most; the rest are flagged by the next ticks. */
const DELAY_BATCH = 500;
/**
 * A claimed shipment is not claimed again for this long, unless its poll reschedules it sooner. Three ticks
 * (at least 10 s, at most 5 minutes): long enough for a queued poll to run, short enough that a poll job lost
 * with Redis or failed for good delays tracking by a few ticks only (a duplicate poll is harmless).
 */
const claimMs = (refreshEveryMs: number) => Math.min(5 * 60_000, Math.max(10_000, 3 * refreshEveryMs));

export const isCarrier = (c: string): c is CarrierCode => (CARRIERS as readonly string[]).includes(c);

/**
 * What a parcel starts with, outbound or a return's: refused at once if its carrier cannot be tracked here;
 * else claimed until its first poll (queued right after the commit) has run, and estimated from the carrier's
 * published service level, from now, until the first news refines it.
 */
export function newParcel(deps: Pick<ShipmentCreationDeps, 'refreshEveryMs' | 'serviceLevelHours' | 'unconfigured'>, carrier: CarrierCode) {
  // Accepted and then never tracked would be worse than refused: the shop learns now, with the settings named.
  const why = deps.unconfigured?.[carrier];
  if (why) throw conflict(why);
  const now = new Date();
  const first = estimateDelivery({ carrierEstimate: null, pickupAt: null, route: null, history: [], serviceLevelHours: deps.serviceLevelHours[carrier], now });
  return { claimUntil: new Date(now.getTime() + claimMs(deps.refreshEveryMs)), estimate: { at: first.estimatedDeliveryAt, source: first.source } };
}

export async function createShipment(
  deps: ShipmentCreationDeps,
  s: { shopId: string; orderId: string; carrier: CarrierCode; trackingNumber: string; fromCity?: string | undefined },
) {
  const result = await deps.shipments.create({ ...s, ...newParcel(deps, s.carrier) });
  // Tracking starts at once rather than at the next tick.
  if (result.created) await deps.jobs.poll(s.carrier, [result.shipment.id]);
  return result;
}

/** A shop's late parcels, oldest delay first, a page at a time. */
export async function listDelayedShipments(shipments: ShipmentStore, shopId: string, q: { limit: number; after: string | null }) {
  const page = await shipments.listDelayed(shopId, q.limit + 1, q.after);
  const data = page.slice(0, q.limit);
  return { data, nextCursor: page.length > q.limit ? data[data.length - 1]!.id : null };
}

/**
 * The scheduled tick: claims, per carrier, the shipments that are due, but no more than that carrier can be
 * asked in one tick under its rate limit, and queues their polls in batches. Claiming more than the budget
 * would only queue polls that defer themselves, and a backlog of those outlives the claims and snowballs.
 */
export async function fanOutPolls(
  deps: Pick<TrackingDeps, 'shipments' | 'jobs' | 'refreshEveryMs' | 'carrierCallsPerSecond' | 'staleAfterMs'>,
  now = new Date(),
) {
  const claimUntil = new Date(now.getTime() + claimMs(deps.refreshEveryMs));
  const budget = Math.max(1, Math.floor((deps.carrierCallsPerSecond * deps.refreshEveryMs) / 1_000));
  const exceptionsQuietSince = new Date(now.getTime() - EXCEPTION_GIVE_UP_MS);
  // Late parcels are found here rather than by their polls: a parcel whose carrier is down is late too.
  const delayed = await deps.shipments.flagDelays(now, new Date(now.getTime() - deps.staleAfterMs), deps.staleAfterMs, DELAY_BATCH);
  let shipments = 0;
  let batches = 0;
  for (const carrier of CARRIERS) {
    const ids = (await deps.shipments.claimDue(carrier, now, claimUntil, Math.min(budget, 2_000), exceptionsQuietSince)).map((d) => d.id);
    shipments += ids.length;
    for (let i = 0; i < ids.length; i += POLL_BATCH) {
      await deps.jobs.poll(carrier, ids.slice(i, i + POLL_BATCH));
      batches++;
    }
  }
  return { shipments, batches, delayed };
}

/**
 * A poll job: asks the carrier about each shipment of the batch and stores what is new; a shipment's first poll
 * also asks an aggregator which carrier its waybill is, and subscribes it where the carrier pushes. Carrier trouble
 * never fails the job: a 429 defers the rest of the batch by its Retry-After, a transient error defers
 * that shipment with backoff, a permanent one stops polling it for a day.
 */
export async function pollShipments(deps: TrackingDeps, carrier: CarrierCode, ids: string[]) {
  const client = deps.carriers[carrier];
  const shipments = (await deps.shipments.load(ids)).filter((s) => !SHIPMENT.isFinal(s.status));
  const history = shipments.length ? await deps.shipments.deliveredTransits(carrier, 200) : [];
  const result = { polled: 0, changed: 0, deferred: 0 };
  for (const [i, s] of shipments.entries()) {
    const waitMs = await deps.limiter.take(`carrier:${carrier}`, deps.carrierCallsPerSecond, 1_000);
    if (waitMs > 0) {
      await deps.shipments.deferPoll(shipments.slice(i).map((x) => x.id), new Date(Date.now() + waitMs), false);
      result.deferred += shipments.length - i;
      break;
    }
    try {
      const changed = await pollOne(deps, client, s, history);
      result.polled++;
      if (changed) result.changed++;
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      if (error.code === 'rate_limited') {
        const retryMs = (error.options.retryAfterSeconds ?? 60) * 1_000;
        await deps.shipments.deferPoll(shipments.slice(i).map((x) => x.id), new Date(Date.now() + retryMs), false);
        result.deferred += shipments.length - i;
        break;
      }
      const delay = error.permanent ? 24 * 3_600_000 : deps.refreshEveryMs;
      await deps.shipments.deferPoll([s.id], new Date(Date.now() + delay), true);
      result.deferred++;
    }
  }
  return result;
}

async function pollOne(deps: TrackingDeps, client: PolledClient, s: TrackedShipment, history: DeliveredTransit[]) {
  const query = await queryOf(deps.shipments, client, s);
  // Subscribing comes before the query: a parcel with no news yet ("no result yet") is still followed by push.
  const push = s.push === null && client.subscribe ? await subscribe(deps.shipments, client, s.id, query) : s.push;
  const snapshot = await client.track(query);
  const { changed } = await storeSnapshot(deps, client, { ...s, push }, snapshot, history);
  return changed;
}

/** The query of a shipment; an aggregator is asked once which carrier the waybill is, and the answer kept. */
async function queryOf(shipments: ShipmentStore, client: PolledClient, s: TrackedShipment): Promise<TrackingQuery> {
  let carrierCom = s.carrierCom;
  if (carrierCom === null && client.recognise) {
    carrierCom = await client.recognise(s.trackingNumber);
    if (carrierCom !== null) await shipments.recordCarrierCom(s.id, carrierCom);
  }
  return {
    trackingNumber: s.trackingNumber, phone: s.phone ?? undefined, fromCity: s.fromCity ?? undefined, toCity: s.toCity ?? undefined,
    ...(carrierCom === null ? {} : { carrierCom }),
  };
}

/**
 * Asks the carrier to push news of the waybill. A refusal is recorded and never asked again; a transient
 * failure leaves the shipment unsubscribed, so its next poll asks again. Polling goes on either way.
 */
async function subscribe(shipments: ShipmentStore, client: PolledClient, id: string, query: TrackingQuery): Promise<PushState | null> {
  try {
    await client.subscribe!(query);
  } catch (error) {
    if (!(error instanceof DomainError)) throw error;
    if (!error.permanent) return null;
    await shipments.recordSubscription(id, 'refused');
    return 'refused';
  }
  await shipments.recordSubscription(id, 'subscribed');
  return 'subscribed';
}
