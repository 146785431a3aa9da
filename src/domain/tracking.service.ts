import { CARRIERS, type CarrierCode, type TrackingQuery, type TrackingSnapshot } from './carrier.js';
import { estimateDelivery } from './delivery-estimate.js';
import { delayedCursor, type DelayedPosition } from './delayed-cursor.js';
import { AskedTooSoon, conflict, DomainError } from './errors.js';
import { SHIPMENT } from './order-lifecycle.js';
import type { RateLimiter, ShipmentLimits, ShipmentStore, TrackedShipment, TrackingJobs } from './tracking-ports.js';
import { EXCEPTION_POLL_FACTOR, routeHistory, storeSnapshot, type PolledClient, type RouteHistory } from './tracking-snapshot.js';
import { mayRenew, subscribe } from './tracking-subscription.js';
import { memoBy } from './memo.js';
import type { ShopRow } from './keys.js';

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
export type ShipmentCreationDeps = Pick<TrackingDeps, 'shipments' | 'jobs'> & {
  serviceLevelHours: Readonly<Record<CarrierCode, number>>;
  /** Carriers this deployment cannot track (no credentials), each with why: their shipments are refused. */
  unconfigured?: Readonly<Partial<Record<CarrierCode, string>>>;
  /** SHIPMENTS_PER_ORDER_MAX and OPEN_SHIPMENTS_PER_SHOP_MAX. */
  limits: ShipmentLimits;
};

/** Polls go out in batches of this many shipments of one carrier. */
export const POLL_BATCH = 25;
/**
 * An `exception` (polled EXCEPTION_POLL_FACTOR times less often) is given up once it has had no news for this
 * long: the parcel is the shop's to chase. It is no longer polled nor counted among the shop's open parcels;
 * news a carrier still pushes about it follows it again.
 */
export const EXCEPTION_GIVE_UP_MS = 14 * 24 * 3_600_000;
/** Delays flagged, and exceptions given up, per tick at most; the rest are done by the next ticks. */
const DELAY_BATCH = 500;
const GIVE_UP_BATCH = 500;
/**
 * A claimed shipment is not claimed again for this long, unless its poll reschedules it sooner. Three ticks
 * (at least 10 s, at most 5 minutes): long enough for a queued poll to run, short enough that a poll job lost
 * with Redis or failed for good delays tracking by a few ticks only (a duplicate poll is harmless).
 */
const claimMs = (refreshEveryMs: number) => Math.min(5 * 60_000, Math.max(10_000, 3 * refreshEveryMs));

export const isCarrier = (c: string): c is CarrierCode => (CARRIERS as readonly string[]).includes(c);

/**
 * What a parcel starts with, outbound or a return's: refused at once if its carrier cannot be tracked here; else
 * estimated from the carrier's published service level, from now, until the first news refines it. It is due at
 * once: its first poll, queued right after the commit, claims it.
 */
export function newParcel(deps: Pick<ShipmentCreationDeps, 'serviceLevelHours' | 'unconfigured'>, carrier: CarrierCode) {
  // Accepted and then never tracked would be worse than refused: the shop learns now, with the settings named.
  const why = deps.unconfigured?.[carrier];
  if (why) throw conflict(why);
  const first = estimateDelivery({ carrierEstimate: null, pickupAt: null, route: null, history: [], serviceLevelHours: deps.serviceLevelHours[carrier], now: new Date() });
  return { estimate: { at: first.estimatedDeliveryAt, source: first.source } };
}

export async function createShipment(
  deps: ShipmentCreationDeps,
  s: { shopId: string; orderId: string; carrier: CarrierCode; trackingNumber: string; fromCity?: string | undefined },
) {
  const result = await deps.shipments.create({ ...s, ...newParcel(deps, s.carrier), limits: deps.limits });
  // Tracking starts at once rather than at the next tick: the parcel is due, and its first poll is queued.
  if (result.created) await deps.jobs.poll(s.carrier, [{ id: result.shipment.id, shopId: s.shopId }]);
  return result;
}

/** A shop's late parcels, oldest delay first, a page at a time. */
export async function listDelayedShipments(shipments: ShipmentStore, shopId: string, q: { limit: number; after: DelayedPosition | null }) {
  const page = await shipments.listDelayed(shopId, q.limit + 1, q.after);
  const data = page.slice(0, q.limit);
  return { data, nextCursor: page.length > q.limit ? delayedCursor(data[data.length - 1]!) : null };
}

/**
 * The scheduled tick: claims, per carrier, the shipments that are due, but no more than that carrier can be
 * asked in one tick under its rate limit, and queues their polls in batches. Claiming more than the budget
 * would only queue polls that defer themselves, and a backlog of those outlives the claims and snowballs.
 *
 * Fairness: one shop's backlog delays no other shop's due parcel by more than one refresh period. A parcel of
 * shop V is due at t; the first tick after t, at T <= t + R (R = refreshEveryMs, ticks as late as the queue runs
 * them), claims it, whatever other shops have due:
 * - the claim takes turns across shops (`claimDue`: every shop's oldest due parcel, then every shop's second...),
 *   so while S shops have due parcels of a carrier, V's first k are claimed by any tick whose budget B holds
 *   S x k of them (k = 1: S <= B), however many a big shop has due; a shop with more than its share due is served
 *   its share each tick, oldest first, the rest on the next ticks. Carriers followed through one account (SF and
 *   ZTO through Kuaidi100) split that account's budget: for each of them B is its equal part, B / n, at the least;
 * - the batches go out in claim order, so the first ceil(S x k / POLL_BATCH) batches hold those turns, and they are
 *   paced (`pollSlot`): batch i starts when the carrier's limit has had time for the i batches before it, so no
 *   batch of the tick waits behind another, and the last starts before the next tick;
 * - a poll waits for its carrier's window instead of deferring (`pollShipments` with a slot), until its tick is
 *   over (T + R); what it has not asked by then is due at once and is claimed again in its turn by the next tick,
 *   so nothing queued by one tick holds the queue or the carrier's calls into the next for longer than one call.
 * - new shipments cannot take that away: a new parcel is due at once and its first poll goes behind every tick's
 *   batch waiting in the queue (a priority), claims it first (so a tick that got there first is not repeated),
 *   and may use only FIRST_POLL_SHARE of a window's calls. A burst of new shipments thus slows a tick's polls by
 *   that share at most, and a new parcel stuck behind another shop's burst of first polls is claimed in its turn
 *   by the next tick like any due parcel.
 * So V's parcel is asked before T + R <= t + 2R: one R is the tick's own granularity, the other the most any backlog
 * adds, as long as V's turns fit in the calls the tick has left (k x S within B x (1 - FIRST_POLL_SHARE) even
 * during a burst of new shipments). Not covered: the carrier refusing (429, errors: deferred as before), and a tick
 * run late by a worker that has no free slot (ticks are counted as they run).
 */
export async function fanOutPolls(
  deps: Pick<TrackingDeps, 'shipments' | 'jobs' | 'refreshEveryMs' | 'carrierCallsPerSecond' | 'staleAfterMs' | 'carriers'>,
  now = new Date(),
) {
  const claimUntil = new Date(now.getTime() + claimMs(deps.refreshEveryMs));
  const budget = Math.max(1, Math.floor((deps.carrierCallsPerSecond * deps.refreshEveryMs) / 1_000));
  const exceptionsQuietSince = new Date(now.getTime() - EXCEPTION_GIVE_UP_MS);
  // Late parcels are found here rather than by their polls: a parcel whose carrier is down is late too.
  const delayed = await deps.shipments.flagDelays(now, new Date(now.getTime() - deps.staleAfterMs), deps.staleAfterMs, DELAY_BATCH);
  // Giving up is recorded, so that a lost parcel stops counting as open; the claim passes over what is left.
  const givenUp = await deps.shipments.giveUpExceptions(exceptionsQuietSince, GIVE_UP_BATCH);
  let shipments = 0;
  let batches = 0;
  // Carriers followed through one account (SF and ZTO through Kuaidi100) share its budget: each first gets an equal
  // part, so one carrier's backlog cannot take the others' calls, then what the others left goes to those with more
  // due; an account's batches are paced one after another on its one line.
  const accounts = new Map<string, CarrierCode[]>();
  for (const c of CARRIERS) {
    const account = deps.carriers[c].account ?? c;
    accounts.set(account, [...(accounts.get(account) ?? []), c]);
  }
  for (const carriers of accounts.values()) {
    let left = budget;
    const got = new Map<CarrierCode, number>();
    /** Claims up to `limit` more of the carrier's due parcels (MAX_CLAIM a tick at most); true if it got them all. */
    const claim = async (carrier: CarrierCode, limit: number) => {
      const want = Math.min(limit, MAX_CLAIM - (got.get(carrier) ?? 0));
      if (want <= 0) return false;
      const ids = await deps.shipments.claimDue(carrier, now, claimUntil, want, exceptionsQuietSince);
      for (let i = 0; i < ids.length; i += POLL_BATCH) {
        await deps.jobs.poll(carrier, ids.slice(i, i + POLL_BATCH), pollSlot(deps, now, Math.max(0, budget - left) + i));
        batches++;
      }
      got.set(carrier, (got.get(carrier) ?? 0) + ids.length);
      left -= ids.length;
      shipments += ids.length;
      return ids.length === want;
    };
    // Each carrier is asked for at least one parcel, however small the budget (the shared limit paces the calls).
    const share = Math.max(1, Math.floor(budget / carriers.length));
    const wantMore: CarrierCode[] = [];
    for (const carrier of carriers) if (await claim(carrier, Math.max(1, Math.min(share, left)))) wantMore.push(carrier);
    for (const carrier of wantMore) if (left > 0) await claim(carrier, left);
  }
  return { shipments, batches, delayed, givenUp };
}

/** Shipments claimed per carrier and tick at most, whatever the budget: a tick's work stays a few thousand rows. */
const MAX_CLAIM = 2_000;

/**
 * The slot of the batch starting at the tick's `first`-th claimed shipment: it starts once the carrier's limit has
 * had time for the shipments before it, and its tick ends with the next one.
 */
const pollSlot = (deps: Pick<TrackingDeps, 'refreshEveryMs' | 'carrierCallsPerSecond'>, tick: Date, first: number) => ({
  delayMs: Math.floor((first * 1_000) / deps.carrierCallsPerSecond),
  until: new Date(tick.getTime() + deps.refreshEveryMs),
});

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The share of each window of a carrier's limit that new parcels' first polls may use: the rest is kept for the
 * parcels the ticks claimed, so a burst of new shipments cannot take the calls a tick counted on.
 */
export const FIRST_POLL_SHARE = 0.5;

/**
 * A poll job: asks the carrier about each shipment of the batch and stores what is new; a shipment's first poll
 * also asks an aggregator which carrier its waybill is, and subscribes it where the carrier pushes (and a poll that
 * finds records of a waybill whose subscription lapsed subscribes it again: `tracking-subscription.ts`). Carrier trouble
 * never fails the job: a 429 defers the rest of the batch by its Retry-After (a waybill asked too soon defers
 * only that parcel), a transient error defers
 * that shipment with backoff, a permanent one stops polling it for a day.
 *
 * A tick's poll (`until` set) holds the shipments its tick claimed; it waits for the shared rate limit until
 * its tick is over, then leaves the rest due for the next tick. A new shipment's first poll (no `until`) first
 * claims its shipments, so one a tick has meanwhile claimed (or polled) is not asked twice, and never waits:
 * past its share of the window, the rest is due when the window ends.
 */
export async function pollShipments(deps: TrackingDeps, carrier: CarrierCode, ids: ShopRow[], until?: Date) {
  const client = deps.carriers[carrier];
  const now = new Date();
  const mine = until ? ids : await deps.shipments.claim(ids, now, new Date(now.getTime() + claimMs(deps.refreshEveryMs)));
  const shipments = mine.length ? (await deps.shipments.load(mine)).filter((s) => !SHIPMENT.isFinal(s.status)) : [];
  const history = routeHistory(deps.shipments, carrier);
  const result: { polled: number; changed: number; deferred: number; broken?: Array<{ id: string; error: string }> } = { polled: 0, changed: 0, deferred: 0 };
  // A tick's parcels are due again counting from their tick, however late in it each was asked (pacing).
  const tickAt = until ? new Date(until.getTime() - deps.refreshEveryMs) : now;
  // Parcels of one waybill (two orders sent in one box) are asked about once per batch: a second call would cost
  // a carrier call and, at Kuaidi100, break its 30-minute rule for that waybill.
  const track = memoBy((q: TrackingQuery) => `${q.carrierCom ?? ''}:${q.trackingNumber}`, (q) => client.track(q));
  for (const [i, s] of shipments.entries()) {
    const dueAgainAt = await turnFor(deps, client.account ?? carrier, until);
    if (dueAgainAt) {
      await deps.shipments.deferPoll(shipments.slice(i), dueAgainAt, false);
      result.deferred += shipments.length - i;
      break;
    }
    try {
      const changed = await pollOne(deps, client, s, history, tickAt, track);
      result.polled++;
      if (changed) result.changed++;
    } catch (error) {
      const { rest, waitMs, failed } = deferral(deps, error);
      const putOff = rest ? shipments.slice(i) : [s];
      await deps.shipments.deferPoll(putOff, new Date(Date.now() + waitMs), failed);
      result.deferred += putOff.length;
      if (!(error instanceof DomainError)) {
        (result.broken ??= []).push({ id: s.id, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
      }
      if (rest) break;
    }
  }
  return result;
}

/**
 * How a parcel's failed poll is put off: that parcel, or (`rest`) it and the rest of the batch; for how long; and
 * whether the carrier was called (`failed`, counted).
 * - The carrier's 429 puts off the rest of the batch by its Retry-After; a waybill asked too soon (Kuaidi100's
 *   30 minutes) only that parcel, the carrier having room for the others.
 * - Another transient error puts off the parcel a refresh, a permanent one a day.
 * - An error not the carrier's but ours (a bug met by one waybill's answer) puts off the parcel four refreshes,
 *   loudly (the job logs it as an error), and the rest of the batch is asked: rethrown, it would fail its
 *   batch-mates on every retry and every tick that claims them together again.
 */
function deferral(deps: Pick<TrackingDeps, 'refreshEveryMs'>, error: unknown): { rest: boolean; waitMs: number; failed: boolean } {
  if (!(error instanceof DomainError)) return { rest: false, waitMs: deps.refreshEveryMs * EXCEPTION_POLL_FACTOR, failed: true };
  const retryAfterMs = (error.options.retryAfterSeconds ?? 60) * 1_000;
  if (error instanceof AskedTooSoon) return { rest: false, waitMs: retryAfterMs, failed: false };
  if (error.code === 'rate_limited') return { rest: true, waitMs: retryAfterMs, failed: false };
  return { rest: false, waitMs: error.permanent ? 24 * 3_600_000 : deps.refreshEveryMs, failed: true };
}

/**
 * Takes one call from the carrier's shared limit: null when the call may go, else when the rest of the batch is
 * due again. A tick's poll waits out full windows while its tick lasts; past it, the rest is due at once. A poll
 * that starts after its tick is over (a worker running late) still asks while the limit has room: deferring every
 * late batch unasked would leave a lagging worker asking nothing at all, tick after tick.
 */
async function turnFor(deps: TrackingDeps, carrier: CarrierCode, until: Date | undefined): Promise<Date | null> {
  const limit = until ? deps.carrierCallsPerSecond : Math.max(1, Math.floor(deps.carrierCallsPerSecond * FIRST_POLL_SHARE));
  for (;;) {
    const waitMs = await deps.limiter.take(`carrier:${carrier}`, limit, 1_000);
    if (waitMs <= 0) return null;
    if (!until || Date.now() + waitMs >= until.getTime()) return new Date(Date.now() + (until ? 0 : waitMs));
    await sleep(waitMs);
  }
}

async function pollOne(
  deps: TrackingDeps, client: PolledClient, s: TrackedShipment, history: RouteHistory, tickAt: Date,
  track: (query: TrackingQuery) => Promise<TrackingSnapshot>,
) {
  const query = await queryOf(deps.shipments, client, s);
  // Subscribing comes before the query: a parcel with no news yet ("no result yet") is still followed by push.
  let push = s.push === null && client.subscribe ? await subscribe(deps.shipments, client, s, query) : s.push;
  // A failed call is this parcel's failure; the next parcel of the waybill asks again.
  const snapshot = await track(query);
  // A subscription that lapsed for want of records is asked again once this poll finds some.
  if (mayRenew(s, client, snapshot, new Date())) push = (await subscribe(deps.shipments, client, s, query, true)) ?? push;
  const { changed } = await storeSnapshot(deps, client, { ...s, push }, snapshot, history, { tickAt });
  return changed;
}

/** The query of a shipment; an aggregator is asked once which carrier the waybill is, and the answer kept. */
async function queryOf(shipments: ShipmentStore, client: PolledClient, s: TrackedShipment): Promise<TrackingQuery> {
  let carrierCom = s.carrierCom;
  if (carrierCom === null && client.recognise) {
    carrierCom = await client.recognise(s.trackingNumber);
    if (carrierCom !== null) await shipments.recordCarrierCom(s, carrierCom);
  }
  return {
    trackingNumber: s.trackingNumber, phone: s.phone ?? undefined, fromCity: s.fromCity ?? undefined, toCity: s.toCity ?? undefined,
    ...(carrierCom === null ? {} : { carrierCom }),
  };
}
