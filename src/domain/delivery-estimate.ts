import type { TrackingEvent } from './carrier.js';

/**
 * When a parcel will arrive (docs/api.md section 7), in order of trust: the carrier's own estimate; else the
 * median transit time of this carrier's delivered parcels on the same route, once there are enough of them
 * for a median to mean something; else the carrier's published service level. Pure: the caller loads the
 * history and recomputes as events arrive.
 */
export type EstimateSource = 'carrier' | 'history' | 'service_level';

export interface DeliveryEstimate {
  estimatedDeliveryAt: Date;
  source: EstimateSource;
}

export interface Route {
  fromCity: string;
  toCity: string;
}

/** One delivered parcel of this carrier: its route and how long it took from pickup to delivery. */
export interface DeliveredTransit extends Route {
  transitMs: number;
}

export interface DeliveryEstimateInput {
  carrierEstimate: Date | null;
  /** The parcel's first info_received/in_transit event (see `pickupTime`); null before the carrier knows of it. */
  pickupAt: Date | null;
  /** Origin and destination city; null when the shipment does not say, which rules history out. */
  route: Route | null;
  /** This carrier's delivered parcels; those on other routes are ignored. */
  history: readonly DeliveredTransit[];
  /** The fewest same-route parcels a median is taken over. */
  minSamples?: number;
  serviceLevelHours: number;
  /** The clock, passed in: the base of a new parcel's estimate, while no pickup is known. */
  now: Date;
}

export const DEFAULT_MIN_SAMPLES = 5;

export function estimateDelivery(input: DeliveryEstimateInput): DeliveryEstimate {
  return refineEstimate(input) ?? fromBase(input.now, input);
}

/**
 * The estimate a carrier's answer gives: null while it has neither an estimate of its own nor a pickup to count
 * from. Counting from the clock then would only move the estimate with every poll, and never let it pass: the
 * parcel keeps the one it was created with.
 */
export function refineEstimate(input: Omit<DeliveryEstimateInput, 'now'>): DeliveryEstimate | null {
  if (input.carrierEstimate && !Number.isNaN(input.carrierEstimate.getTime())) {
    return { estimatedDeliveryAt: input.carrierEstimate, source: 'carrier' };
  }
  return input.pickupAt ? fromBase(input.pickupAt, input) : null;
}

function fromBase(base: Date, input: Omit<DeliveryEstimateInput, 'now'>): DeliveryEstimate {
  const transits = input.route ? sameRouteTransits(input.route, input.history) : [];
  if (transits.length >= Math.max(1, input.minSamples ?? DEFAULT_MIN_SAMPLES)) {
    return { estimatedDeliveryAt: new Date(base.getTime() + median(transits)), source: 'history' };
  }
  return { estimatedDeliveryAt: new Date(base.getTime() + input.serviceLevelHours * 3_600_000), source: 'service_level' };
}

/** The middle value; the mean of the two middle values for an even count. Throws for none. */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('median of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** When the carrier first had the parcel in hand or on record: the start of its transit time. */
export function pickupTime(events: readonly TrackingEvent[]): Date | null {
  let first: Date | null = null;
  for (const e of events) {
    if ((e.status === 'info_received' || e.status === 'in_transit') && (!first || e.at < first)) first = e.at;
  }
  return first;
}

/**
 * City names come from shops and carriers alike: "上海市", "上海", " Shanghai " must meet. Case, outer
 * spaces and a trailing 市 (city) are not part of the name.
 */
export function normaliseCity(city: string): string {
  return city.trim().toLowerCase().replace(/市$/, '');
}

/**
 * The spellings of a city that `normaliseCity` takes as one, as stored (trimmed, case aside): with and without a
 * trailing 市. What a store looks a route up by before the names are compared normalised.
 */
export function citySpellings(city: string): string[] {
  const bare = city.trim().replace(/市$/, '');
  return bare ? [bare, `${bare}市`] : [];
}

function sameRouteTransits(route: Route, history: readonly DeliveredTransit[]): number[] {
  const from = normaliseCity(route.fromCity);
  const to = normaliseCity(route.toCity);
  if (!from || !to) return [];
  return history
    .filter((h) => normaliseCity(h.fromCity) === from && normaliseCity(h.toCity) === to)
    .map((h) => h.transitMs)
    // A parcel "delivered" before its pickup is a data error, not a fast route.
    .filter((ms) => Number.isFinite(ms) && ms > 0);
}
