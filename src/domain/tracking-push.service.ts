import type { CarrierCode } from './carrier.js';
import { notFound } from './errors.js';
import { storeSnapshot, type PolledClient } from './tracking-snapshot.js';
import type { PushReceiver, PushReply, ShipmentStore, TrackingJobs } from './tracking-ports.js';

export interface PushDeps {
  shipments: ShipmentStore;
  carriers: Record<CarrierCode, PolledClient>;
  refreshEveryMs: number;
  /** A return's parcel delivered by a push starts the return's refund. */
  jobs: Pick<TrackingJobs, 'refund'>;
  /** The carriers that push news to this deployment, each with what reads its pushes; absent: push is off for it. */
  receivers: Partial<Record<CarrierCode, PushReceiver>>;
}

/**
 * A carrier's push, from its raw body: verified first, then applied to the open shipments of that carrier and
 * number exactly as a poll's answer is (`storeSnapshot`), so a replayed or stale push changes nothing and a
 * change is one `shipment.updated`. A push that says the carrier stopped following the waybill hands the
 * shipment back to polling at its usual pace, unless the aggregator corrected the carrier and follows on.
 * Returns the reply the carrier expects; an unverified push is answered with its refusal and changes nothing.
 */
export async function receivePush(deps: PushDeps, carrier: CarrierCode, body: Buffer): Promise<{ reply: PushReply; shipments: number }> {
  const receiver = deps.receivers[carrier];
  if (!receiver) throw notFound(`push tracking for carrier ${carrier}`);
  const reading = receiver.read(body);
  if (!reading.verified) return { reply: reading.reply, shipments: 0 };
  const { push } = reading;
  const shipments = await deps.shipments.findOpen(carrier, push.trackingNumber);
  const client = deps.carriers[carrier];
  const history = shipments.length && push.snapshot ? await deps.shipments.deliveredTransits(carrier, 200) : [];
  for (const s of shipments) {
    if (push.carrierCom && push.carrierCom !== s.carrierCom) await deps.shipments.recordCarrierCom(s, push.carrierCom);
    // A push that arrives proves the carrier follows the waybill: the safety-net polls keep their wide spacing.
    if (push.snapshot) await storeSnapshot(deps, client, { ...s, push: push.ended ? 'ended' : 'subscribed' }, push.snapshot, history, { pushed: true });
  }
  if (push.ended && shipments.length) await deps.shipments.endPush(shipments);
  return { reply: reading.reply, shipments: shipments.length };
}
