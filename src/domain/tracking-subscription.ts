import type { TrackingQuery, TrackingSnapshot } from './carrier.js';
import { DomainError } from './errors.js';
import { SHIPMENT } from './order-lifecycle.js';
import type { PushState, ShipmentStore, TrackedShipment } from './tracking-ports.js';
import type { PolledClient } from './tracking-snapshot.js';

/**
 * How many times one shipment's subscription is asked again after it lapsed. One: a subscription lapses for want
 * of records, and is renewed only once a poll found records, so the renewed one has them from its start. Kept
 * small because Kuaidi100 takes only a few subscriptions of a number a month (docs/providers.md) and counts those
 * of every shipment that shares the waybill; past them it answers "already subscribed", which reads as success.
 */
export const PUSH_RENEWALS_MAX = 1;

/**
 * Asks the carrier to push news of the waybill: a shipment's first subscription, or a `renewal` of one that lapsed.
 * A refusal is recorded and never asked again; a transient failure changes nothing, so the next poll asks again.
 * Polling goes on either way. The record is conditional on the state the poll read, so a replayed poll (which
 * reads the recorded state) does not subscribe again.
 */
export async function subscribe(
  shipments: ShipmentStore,
  client: PolledClient,
  s: TrackedShipment,
  query: TrackingQuery,
  renewal = false,
): Promise<PushState | null> {
  try {
    await client.subscribe!(query);
  } catch (error) {
    if (!(error instanceof DomainError)) throw error;
    if (!error.permanent) return null;
    await shipments.recordSubscription(s, 'refused', renewal);
    return 'refused';
  }
  await shipments.recordSubscription(s, 'subscribed', renewal);
  return 'subscribed';
}

/**
 * Whether a poll's answer calls for subscribing again a shipment whose subscription lapsed (the carrier found no
 * record of it for days, as Kuaidi100 does before an `abort` "3天查询无记录"): Kuaidi100's advice is to check the
 * number and resubscribe, once the client's `resubscribeAfterMs` has passed since the end. The poll is that check: it found records,
 * and the parcel's journey is not over. Renewals are bounded by PUSH_RENEWALS_MAX.
 */
export function mayRenew(
  s: Pick<TrackedShipment, 'push' | 'pushRenewals' | 'pushEndedAt'>,
  client: Pick<PolledClient, 'subscribe' | 'resubscribeAfterMs'>,
  snapshot: TrackingSnapshot,
  now: Date,
): boolean {
  if (s.push !== 'lapsed' || !client.subscribe || s.pushRenewals >= PUSH_RENEWALS_MAX) return false;
  if (!snapshot.events.length || SHIPMENT.isFinal(snapshot.status)) return false;
  return s.pushEndedAt === null || now.getTime() - s.pushEndedAt.getTime() >= (client.resubscribeAfterMs ?? 0);
}
