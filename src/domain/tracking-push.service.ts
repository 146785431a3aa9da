import { CARRIERS, type CarrierCode } from './carrier.js';
import { notFound } from './errors.js';
import { memoBy } from './memo.js';
import { routeHistory, storeSnapshot, type PolledClient } from './tracking-snapshot.js';
import { PUSH_RENEWALS_MAX } from './tracking-subscription.js';
import type { CarrierPush, PushReceiver, PushReply, ShipmentStore, TrackingJobs } from './tracking-ports.js';

export interface PushDeps {
  shipments: ShipmentStore;
  carriers: Record<CarrierCode, PolledClient>;
  refreshEveryMs: number;
  /** A return's parcel delivered by a push starts the return's refund. */
  jobs: Pick<TrackingJobs, 'refund'>;
  /** The carriers that push news to this deployment, each with what reads its pushes; absent: push is off for it. */
  receivers: Partial<Record<CarrierCode, PushReceiver>>;
}

/** Whether a push is about a parcel whose underlying carrier is `com` (unknown yet: it may be). */
const namedBy = (push: CarrierPush, com: string | null | undefined) => !com || !push.coms?.length || push.coms.includes(com);

/** The carriers whose waybills are subscribed through `carrier`'s push: itself, and those followed through it. */
export const pushedThrough = (carriers: Record<CarrierCode, PolledClient>, carrier: CarrierCode): CarrierCode[] =>
  CARRIERS.filter((c) => carriers[c].subscribe && carriers[c].pushedBy === carrier);

/**
 * A carrier's push, from its raw body: verified first, then applied to the open shipments of that number among the
 * carriers it pushes for (Kuaidi100's push serves SF and ZTO followed through it too) exactly as a poll's answer is
 * (`storeSnapshot`, with the shipment's own carrier), so a replayed or stale push changes nothing and a change is
 * one `shipment.updated`. A push that says the carrier stopped following the waybill hands the shipment back to
 * polling at its usual pace, unless the aggregator corrected the carrier and follows on; one that stopped for want
 * of records leaves the shipment to be subscribed again once a poll finds some (`tracking-subscription.ts`).
 * Returns the reply the carrier expects; an unverified push is answered with its refusal and changes nothing.
 */
export async function receivePush(deps: PushDeps, carrier: CarrierCode, body: Buffer): Promise<{ reply: PushReply; shipments: number }> {
  const receiver = deps.receivers[carrier];
  if (!receiver) throw notFound(`push tracking for carrier ${carrier}`);
  const reading = receiver.read(body);
  if (!reading.verified) return { reply: reading.reply, shipments: 0 };
  const { push } = reading;
  const shipments = (await deps.shipments.findOpen(pushedThrough(deps.carriers, carrier), push.trackingNumber))
    .filter((s) => namedBy(push, deps.carriers[s.carrier].fixedCom ?? s.carrierCom));
  const historyOf = memoBy((c: CarrierCode) => c, (c) => routeHistory(deps.shipments, c));
  for (const s of shipments) {
    if (push.carrierCom && push.carrierCom !== s.carrierCom) await deps.shipments.recordCarrierCom(s, push.carrierCom);
    if (!push.snapshot) continue;
    // A push that arrives proves the carrier follows the waybill: the safety-net polls keep their wide spacing.
    const pushState = push.ended ? 'ended' : 'subscribed';
    await storeSnapshot(deps, deps.carriers[s.carrier], { ...s, push: pushState }, push.snapshot, historyOf(s.carrier), { pushed: true });
  }
  if (push.ended && shipments.length) await deps.shipments.endPush(shipments, push.renewable ? PUSH_RENEWALS_MAX : 0);
  return { reply: reading.reply, shipments: shipments.length };
}
