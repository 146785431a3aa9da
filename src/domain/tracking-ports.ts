import type { CarrierCode, ShipmentStatus, TrackingEvent, TrackingSnapshot } from './carrier.js';
import type { DelayedPosition } from './delayed-cursor.js';
import type { DeliveredTransit, Route } from './delivery-estimate.js';
import type { ShopRow } from './keys.js';

export interface ShipmentView {
  id: string;
  carrier: CarrierCode;
  trackingNumber: string;
  status: ShipmentStatus;
  estimatedDeliveryAt: Date | null;
  deliveredAt: Date | null;
  /** Since when the parcel is late (its estimate passed, or no news for too long); null while it is not. */
  delayedSince: Date | null;
  /** When we stopped following it (an `exception` given up); null while we follow it, or once news revived it. */
  trackingEndedAt: Date | null;
  events: TrackingEvent[];
}

/** A page of a shop's late parcels, oldest delay first. */
export interface DelayedShipment extends Omit<ShipmentView, 'events'> {
  orderId: string;
  delayedSince: Date;
  /** `delayedSince` in microseconds since the epoch, as the list is ordered: what a cursor after it carries. */
  delayedSinceUs: string;
}

/**
 * Where a shipment's push subscription stands: null never subscribed (push off, or not yet); `subscribed` the
 * carrier calls us back; `lapsed` it stopped following the waybill for want of records, and the shipment may be
 * subscribed again once a poll finds some (`tracking-subscription.ts`); `ended` it stopped for good; `refused` it
 * would not follow it.
 */
export type PushState = 'subscribed' | 'lapsed' | 'ended' | 'refused';

/** What a poll needs of a shipment. */
export interface TrackedShipment {
  id: string;
  shopId: string;
  orderId: string;
  carrier: CarrierCode;
  trackingNumber: string;
  status: ShipmentStatus;
  phone: string | null;
  fromCity: string | null;
  toCity: string | null;
  /** The underlying carrier its aggregator recognised (Kuaidi100's `com`); null until asked. */
  carrierCom: string | null;
  push: PushState | null;
  /** How many times its subscription was asked again after lapsing. */
  pushRenewals: number;
  /** When the carrier last stopped following the waybill; null while it never has. */
  pushEndedAt: Date | null;
}

export interface ShipmentUpdate {
  snapshot: TrackingSnapshot;
  pickedUpAt: Date | null;
  /** Null: nothing to refine it from (no pickup, no carrier estimate), the parcel keeps the estimate it has. */
  estimate: { at: Date; source: string } | null;
  deliveredAt: Date | null;
  nextPollAt: Date;
  /**
   * A push without an estimate of its own (Kuaidi100's carry none) keeps the carrier's estimate a poll brought
   * rather than replacing it with a lesser guess: otherwise polls and pushes would swap estimates, each a change.
   */
  keepCarrierEstimate?: boolean;
}

export interface ShipmentStore {
  /** Ships a paid (or already shipped) order: 409 otherwise. The same carrier and number twice is one shipment. */
  /** A new shipment is due at once: its first poll, or the next tick if that comes first, claims it. */
  create(s: {
    shopId: string; orderId: string; carrier: CarrierCode; trackingNumber: string; fromCity?: string | undefined;
    estimate: { at: Date; source: string };
    /** Checked while the order (and, for the shop's count, the shop) is locked; a replay is never refused. */
    limits: ShipmentLimits;
  }): Promise<{ shipment: ShipmentView; created: boolean }>;
  /**
   * Claims up to `limit` open shipments of `carrier` that are due, pushing their next poll to `claimUntil` so
   * that no other tick claims them while their poll is queued. A parcel whose tracking ended is not claimed,
   * nor an `exception` with no news since `exceptionsQuietSince` that is not given up yet. Shops take turns: each shop's oldest due parcel, then each
   * one's second, and so on, oldest first within a turn; the answer is in that order.
   */
  claimDue(carrier: CarrierCode, now: Date, claimUntil: Date, limit: number, exceptionsQuietSince: Date): Promise<ShopRow[]>;
  /**
   * Stops following up to `limit` exceptions with no news since `quietSince`: their tracking ends (`given_up`),
   * so they are neither claimed nor counted among the shop's open parcels any more. Idempotent; returns how many.
   */
  giveUpExceptions(quietSince: Date, limit: number): Promise<number>;
  /** Claims those of `shipments` that are still open and due (as `claimDue` does), and answers them. */
  claim(shipments: ShopRow[], now: Date, claimUntil: Date): Promise<ShopRow[]>;
  /**
   * Flags up to `limit` open parcels that are late and not yet flagged: their estimate passed before `now`,
   * or no news since `quietSince` (the delay then starts `staleAfterMs` after the last news). Each flag is
   * recorded with its `shipment.delayed` event, in one transaction. Returns how many were flagged.
   */
  flagDelays(now: Date, quietSince: Date, staleAfterMs: number, limit: number): Promise<number>;
  /** A shop's late parcels, oldest delay first; `after`: where the previous page ended (its last parcel's position). */
  listDelayed(shopId: string, limit: number, after: DelayedPosition | null): Promise<DelayedShipment[]>;
  /** Those of `shipments` that exist and are still followed, in the order given. */
  load(shipments: ShopRow[]): Promise<TrackedShipment[]>;
  /**
   * The open (not final) shipments of these carriers with this tracking number: whom a carrier's push is about. A
   * given-up parcel is among them (news revives it); the parcel of a cancelled return is not.
   */
  findOpen(carriers: readonly CarrierCode[], trackingNumber: string): Promise<TrackedShipment[]>;
  /** Stores the underlying carrier recognised for (or corrected by the aggregator on) a shipment's waybill. */
  recordCarrierCom(shipment: ShopRow, carrierCom: string): Promise<void>;
  /**
   * The outcome of subscribing a shipment never subscribed before (push null), or, as a `renewal`, one whose
   * subscription lapsed (push `lapsed`; its renewals counted). Only from that state: a replayed poll, or a push
   * that ended the subscription meanwhile, is not undone.
   */
  recordSubscription(shipment: ShopRow, outcome: 'subscribed' | 'refused', renewal?: boolean): Promise<void>;
  /**
   * The carrier stopped following these waybills, now: each is due for a poll now at the latest, and its push
   * `lapsed` while it has been renewed fewer than `renewBelow` times (0: never), else `ended`. One `ended` or `refused` stays so.
   */
  endPush(shipments: ShopRow[], renewBelow: number): Promise<void>;
  /**
   * The latest `limit` delivered parcels of a carrier on a route (its cities' spellings as `citySpellings` gives
   * them, case aside), newest first, with their time from pickup to delivery: what estimates learn from.
   */
  deliveredTransits(carrier: CarrierCode, route: Route, limit: number): Promise<DeliveredTransit[]>;
  /**
   * Stores a poll's result in one transaction: new events (duplicates dropped), status, estimate,
   * next poll; and the order's `delivered` once all its shipments are. `changed` is false when the poll
   * found nothing new: an estimate of ours that moved (history learned more) is stored, but only the carrier's news
   * (events, status, its own estimate) is `shipment.updated`. An answer whose newest event is older than the newest
   * one stored (a push sent again, a poll's answer stored after a newer push) moves nothing: only its missing events
   * join the history. A return's parcel reports nothing of its own: its delivery receives the return, and `refundId`
   * is the return's refund to start. The parcel of a cancelled return keeps what it has; news of a given-up parcel
   * follows it again.
   */
  applyPoll(shipment: ShopRow, update: ShipmentUpdate): Promise<{ changed: boolean; refundId?: string | null }>;
  /** A failed poll: count it and try again at `nextPollAt`. */
  deferPoll(shipments: ShopRow[], nextPollAt: Date, failed: boolean): Promise<void>;
}

/** How many shipments one order may have, and how many not yet final one shop may have (409 past either). */
export interface ShipmentLimits {
  perOrder: number;
  openPerShop: number;
}

/** A tick's poll: when its batch may start (its place in the tick's pacing), and when its tick is over. */
export interface PollSlot {
  delayMs: number;
  until: Date;
}

export interface TrackingJobs {
  /**
   * Never rejects: false when the poll was not queued (the shipment's claim runs out and a later tick polls it).
   * Without a `slot` (a new shipment's first poll) it runs as soon as no tick's poll is waiting, and never waits
   * for the carrier's limit.
   */
  poll(carrier: CarrierCode, shipments: ShopRow[], slot?: PollSlot): Promise<boolean>;
  /** A received return's refund (its parcel was delivered); the reconciler starts it if this is lost. */
  refund(refund: ShopRow): Promise<boolean>;
}

/**
 * A limit on calls per carrier shared by every process: how long to wait before the next call, 0 = go. Only
 * granted takes count, so callers sharing a key with a lower limit get calls only while the window is less used.
 */
export interface RateLimiter {
  take(key: string, limit: number, windowMs: number): Promise<number>;
}

/** A carrier's push, verified and read: what it says of one waybill. */
export interface CarrierPush {
  trackingNumber: string;
  /** What the carrier knows of the parcel; null when the push brings no events (a subscription ended without news). */
  snapshot: TrackingSnapshot | null;
  /** The carrier stops following the waybill: polls take over at their usual pace. */
  ended: boolean;
  /**
   * Ended only because the carrier has found no record of the waybill yet (a parcel not scanned so far): it may
   * be subscribed again once a poll finds records. An end for any other reason is final.
   */
  renewable?: boolean | undefined;
  /** The underlying carrier as the aggregator corrected it (Kuaidi100's `comNew`): used from now on. */
  carrierCom?: string | undefined;
  /**
   * The underlying carriers the push names (Kuaidi100's `lastResult.com`, `comOld`, `comNew`): a push is about
   * the parcels of its number at one of these only, not another carrier's waybill that happens to share the digits.
   * Empty: it names none, and every open parcel of the number is its.
   */
  coms?: string[] | undefined;
}

/** The answer a carrier expects to a push, in its own format. */
export interface PushReply {
  status: number;
  contentType: string;
  body: string;
}

/** A push, read from its raw body: verified (with the reply that accepts it) or not (with the one that refuses it). */
export type PushReading = { verified: true; push: CarrierPush; reply: PushReply } | { verified: false; why: string; reply: PushReply };

/** Reads a carrier's pushes: checks the signature over the raw body before anything else. */
export interface PushReceiver {
  read(body: Buffer): PushReading;
}
