import type { ShipmentStatus } from './order-lifecycle.js';

/**
 * The port every carrier adapter implements (docs/api.md section 7). Adapters classify answers where they
 * are born: 429 -> TransientError('rate_limited', { retryAfterSeconds }); 5xx, timeouts, network errors and
 * "no result yet" -> TransientError('carrier_unavailable'); bad credentials, unknown waybill format ->
 * PermanentError('carrier_rejected').
 */
export const CARRIERS = ['sandbox', 'kuaidi100', 'sf', 'zto'] as const;
export type CarrierCode = (typeof CARRIERS)[number];

/** A parcel's states and where each may go are part of the order's lifecycle. */
export { SHIPMENT_STATUSES, type ShipmentStatus } from './order-lifecycle.js';

export interface TrackingEvent {
  /** When the carrier says it happened. */
  at: Date;
  status: ShipmentStatus;
  description: string;
  location: string | null;
}

export interface TrackingQuery {
  trackingNumber: string;
  /** Recipient phone; SF and ZTO (and Kuaidi100 for them) check its last digits. */
  phone?: string | undefined;
  /** Origin and destination cities, where the carrier uses them for an estimate. */
  fromCity?: string | undefined;
  toCity?: string | undefined;
  /** The underlying carrier at an aggregator (Kuaidi100's `com`), as recognised once and stored on the shipment. */
  carrierCom?: string | undefined;
}

export interface TrackingSnapshot {
  /** The parcel's current status, in our vocabulary. */
  status: ShipmentStatus;
  /** Every event the carrier reports, oldest first. */
  events: TrackingEvent[];
  /** The carrier's own estimate of arrival, where it gives one. */
  estimatedDeliveryAt: Date | null;
}

export interface CarrierClient {
  readonly code: CarrierCode;
  /** The carrier's published service level, in hours from pickup to delivery, for estimates of last resort. */
  readonly serviceLevelHours: number;
  /** Set when this deployment has no credentials for the carrier: why, naming the settings it needs. */
  readonly unconfigured?: string;
  track(query: TrackingQuery): Promise<TrackingSnapshot>;
  /**
   * Aggregators only: which underlying carrier a waybill belongs to (Kuaidi100's `com`), null when it cannot
   * tell. Asked once per shipment; the answer is stored and comes back in every query as `carrierCom`.
   */
  recognise?(trackingNumber: string): Promise<string | null>;
  /**
   * Present where the carrier pushes news to us (Kuaidi100 with push configured): asks it to follow the waybill
   * and call us back. Idempotent: a waybill it already follows counts as subscribed.
   */
  subscribe?(query: TrackingQuery): Promise<void>;
  /**
   * The account whose call limit (CARRIER_CALLS_PER_SECOND) this client's calls count against, when it is not the
   * carrier's own: SF and ZTO followed through Kuaidi100 share the Kuaidi100 account's limit with it.
   */
  readonly account?: CarrierCode;
  /** Aggregators only: the underlying carrier every waybill of this client is (SF through Kuaidi100: `shunfeng`). */
  readonly fixedCom?: string;
  /** Set with `subscribe`: the carrier whose push endpoint brings this one's news (Kuaidi100's, for SF through it). */
  readonly pushedBy?: CarrierCode;
  /** Set with `subscribe`: how long after the carrier stopped following a waybill it may be asked to again. */
  readonly resubscribeAfterMs?: number;
}
