import type { CarrierClient, CarrierCode, TrackingSnapshot } from './carrier.js';
import { normaliseCity, pickupTime, refineEstimate, type DeliveredTransit, type Route } from './delivery-estimate.js';
import { memoBy } from './memo.js';
import type { ShipmentStore, TrackedShipment, TrackingJobs } from './tracking-ports.js';

/** A carrier client, with the least time between two queries of one waybill where the carrier sets one. */
export type PolledClient = CarrierClient & { minPollIntervalMs?: number };

/** An `exception` is polled this many times less often than a moving parcel. */
export const EXCEPTION_POLL_FACTOR = 4;
/**
 * A parcel its carrier pushes news about is still polled, this many times less often: a safety net for a push
 * lost on the way (Kuaidi100 gives up on a callback after a few tries), not the way news arrives. Kuaidi100
 * bills and rate-limits queries, so the net is wide; a subscription that ends brings the usual pace back.
 */
export const PUSHED_POLL_FACTOR = 6;

/** The latest deliveries a median is taken over, per carrier and route: recent enough to follow a route's changes. */
export const HISTORY_SAMPLE = 200;

/** A carrier's delivered parcels on a route, for estimates. */
export type RouteHistory = (route: Route) => Promise<DeliveredTransit[]>;

/** A carrier's delivery history for a batch of parcels: each route asked once, and only when a parcel needs it. */
export function routeHistory(shipments: Pick<ShipmentStore, 'deliveredTransits'>, carrier: CarrierCode): RouteHistory {
  return memoBy(
    (route: Route) => `${normaliseCity(route.fromCity)}\n${normaliseCity(route.toCity)}`,
    (route) => shipments.deliveredTransits(carrier, route, HISTORY_SAMPLE),
  );
}

/**
 * Stores what a carrier says of a parcel, polled or pushed alike: its estimate refined, its next poll set
 * (pushed parcels and exceptions less often). The store drops duplicate events, never moves the parcel back to an
 * older answer, and records one `shipment.updated` per piece of news. `pushed`: a push without an estimate keeps
 * the carrier's last one.
 */
export async function storeSnapshot(
  deps: { shipments: ShipmentStore; refreshEveryMs: number; jobs: Pick<TrackingJobs, 'refund'> },
  client: PolledClient,
  s: Pick<TrackedShipment, 'id' | 'shopId' | 'fromCity' | 'toCity' | 'push'>,
  snapshot: TrackingSnapshot,
  history: RouteHistory,
  how: { pushed?: boolean; tickAt?: Date } = {},
) {
  const now = new Date();
  const pickedUpAt = pickupTime(snapshot.events);
  const route = s.fromCity && s.toCity ? { fromCity: s.fromCity, toCity: s.toCity } : null;
  // Null before the carrier has the parcel and without its own estimate: the parcel keeps the one it has. History
  // counts only from a pickup, on a route, when the carrier gives no estimate: only then is it asked for.
  const estimate = refineEstimate({
    carrierEstimate: snapshot.estimatedDeliveryAt,
    pickupAt: pickedUpAt,
    route,
    history: route && pickedUpAt && !snapshot.estimatedDeliveryAt ? await history(route) : [],
    serviceLevelHours: client.serviceLevelHours,
  });
  const delivered = snapshot.status === 'delivered' ? [...snapshot.events].reverse().find((e) => e.status === 'delivered') : undefined;
  // Scheduled ticks fire every refreshEveryMs; due a little early so each tick finds it due again. An
  // exception rarely clears within the hour, and a pushed parcel's news comes by itself: both are asked less often.
  const every =
    deps.refreshEveryMs * (snapshot.status === 'exception' ? EXCEPTION_POLL_FACTOR : 1) * (s.push === 'subscribed' ? PUSHED_POLL_FACTOR : 1);
  // A tick's parcels are due again counting from their tick, however late in it each was asked (its polls are paced).
  const nextPollAt = Math.max((how.tickAt ?? now).getTime() + every * 0.8, now.getTime() + (client.minPollIntervalMs ?? 0));
  const stored = await deps.shipments.applyPoll(s, {
    snapshot,
    pickedUpAt,
    estimate: estimate && { at: estimate.estimatedDeliveryAt, source: estimate.source },
    deliveredAt: delivered?.at ?? (snapshot.status === 'delivered' ? now : null),
    nextPollAt: new Date(nextPollAt),
    ...(how.pushed && !snapshot.estimatedDeliveryAt ? { keepCarrierEstimate: true } : {}),
  });
  // A return's parcel delivered: the return is received, its refund starts now (the reconciler's, if this is lost).
  if (stored.refundId) await deps.jobs.refund({ shopId: s.shopId, id: stored.refundId });
  return stored;
}
