import type { CarrierCode, ShipmentStatus, TrackingEvent, TrackingSnapshot } from './carrier.js';
import type { DeliveredTransit } from './delivery-estimate.js';

export interface ShipmentView {
  id: string;
  carrier: CarrierCode;
  trackingNumber: string;
  status: ShipmentStatus;
  estimatedDeliveryAt: Date | null;
  deliveredAt: Date | null;
  events: TrackingEvent[];
}

/** What a poll needs of a shipment. */
export interface TrackedShipment {
  id: string;
  orderId: string;
  carrier: CarrierCode;
  trackingNumber: string;
  status: ShipmentStatus;
  phone: string | null;
  fromCity: string | null;
  toCity: string | null;
}

export interface ShipmentUpdate {
  snapshot: TrackingSnapshot;
  pickedUpAt: Date | null;
  estimate: { at: Date; source: string };
  deliveredAt: Date | null;
  nextPollAt: Date;
}

export interface ShipmentStore {
  /** Ships a paid (or already shipped) order: 409 otherwise. The same carrier and number twice is one shipment. */
  create(s: { shopId: string; orderId: string; carrier: CarrierCode; trackingNumber: string; fromCity?: string | undefined; claimUntil: Date }): Promise<{ shipment: ShipmentView; created: boolean }>;
  /**
   * Claims up to `limit` open shipments of `carrier` that are due, pushing their next poll to `claimUntil` so
   * that no other tick claims them while their poll is queued.
   */
  claimDue(carrier: CarrierCode, now: Date, claimUntil: Date, limit: number): Promise<Array<{ id: string }>>;
  load(ids: string[]): Promise<TrackedShipment[]>;
  /** Delivered parcels of a carrier (pickup to delivery), newest first, for estimates. */
  deliveredTransits(carrier: CarrierCode, limit: number): Promise<DeliveredTransit[]>;
  /**
   * Stores a poll's result in one transaction: new events (duplicates dropped), status, estimate,
   * next poll; and the order's `delivered` once all its shipments are. `changed` is false when the poll
   * found nothing new.
   */
  applyPoll(id: string, update: ShipmentUpdate): Promise<{ changed: boolean }>;
  /** A failed poll: count it and try again at `nextPollAt`. */
  deferPoll(ids: string[], nextPollAt: Date, failed: boolean): Promise<void>;
}

export interface TrackingJobs {
  /** Never rejects: false when the poll was not queued (the shipment's claim runs out and a later tick polls it). */
  poll(carrier: CarrierCode, shipmentIds: string[]): Promise<boolean>;
}

/** A limit on calls per carrier shared by every process: how long to wait before the next call, 0 = go. */
export interface RateLimiter {
  take(key: string, limit: number, windowMs: number): Promise<number>;
}
