import type { ShipmentStatus } from '../../domain/carrier.js';

/**
 * The sandbox carrier's script (docs/api.md section 7), pure: which tracking numbers it knows, what the next
 * refresh adds, and which parcels come with the carrier's own estimate. Postgres keeps the events so far.
 */
export interface SandboxEvent {
  /** ISO 8601, UTC. */
  at: string;
  status: ShipmentStatus;
  description: string;
  location: string;
}

type Step = Omit<SandboxEvent, 'at'>;

const RECEIVED: Step = { status: 'info_received', description: 'Shipment information received from the shop', location: 'Shenzhen' };
const PICKED_UP: Step = { status: 'in_transit', description: 'Picked up; departed the origin sorting centre', location: 'Shenzhen Hub' };
const DELIVERY: Step[] = [
  { status: 'out_for_delivery', description: 'Out for delivery with the courier', location: 'Shanghai' },
  { status: 'delivered', description: 'Delivered; signed for by the recipient', location: 'Shanghai' },
];
const LOST: Step = { status: 'exception', description: 'Parcel missing at the transit hub; investigation opened', location: 'Wuhan Hub' };
const FAILED: Step = { status: 'failed_attempt', description: 'Delivery attempted; recipient not at home', location: 'Shanghai' };
const RETURNED: Step = { status: 'returned_to_sender', description: 'Returned to the sender; signed for by the shop', location: 'Shenzhen' };

/** Each script by its tracking number's prefix; any other `SBX-` number is delivered in four steps. */
const SCRIPTS: ReadonlyArray<[prefix: string, steps: Step[]]> = [
  ['SBX-LOST-', [RECEIVED, PICKED_UP, LOST]],
  ['SBX-RETRY-', [RECEIVED, PICKED_UP, DELIVERY[0]!, FAILED, DELIVERY[0]!, DELIVERY[1]!]],
  ['SBX-LATE-', [RECEIVED, PICKED_UP]],
  ['SBX-RETURN-', [RECEIVED, PICKED_UP, DELIVERY[0]!, FAILED, RETURNED]],
];

/** `SBX-` then letters, digits and dashes; anything else is a number this carrier never issued. */
const FORMAT = /^SBX-[A-Z0-9][A-Z0-9-]{0,46}$/;

/** Hours from the first event to the estimate the sandbox gives for `SBX-ETA-...` parcels. */
export const SANDBOX_ETA_HOURS = 72;

export const isSandboxTrackingNumber = (trackingNumber: string) => FORMAT.test(trackingNumber);

function script(trackingNumber: string): Step[] {
  return SCRIPTS.find(([prefix]) => trackingNumber.startsWith(prefix))?.[1] ?? [RECEIVED, PICKED_UP, ...DELIVERY];
}

/**
 * The event the next refresh adds, or null once the parcel has reached the end of its script (delivered,
 * lost, returned, or stuck for a late parcel): from then on refreshes change nothing. Times never go backwards, even across clock skew
 * between web processes.
 */
export function nextSandboxEvent(trackingNumber: string, sofar: readonly SandboxEvent[], now: Date): SandboxEvent | null {
  const step = script(trackingNumber)[sofar.length];
  if (!step) return null;
  const last = sofar.at(-1);
  const at = last && Date.parse(last.at) > now.getTime() ? last.at : now.toISOString();
  return { at, ...step };
}

/**
 * Only `SBX-ETA-...` and `SBX-LATE-...` parcels come with the carrier's own estimate, so the other estimate
 * sources get exercised. A late parcel's estimate is two refreshes after its pickup (a refresh being the time
 * between its first two events), which it then never meets.
 */
export function sandboxEstimate(trackingNumber: string, events: readonly SandboxEvent[]): string | null {
  const [first, second] = events;
  if (trackingNumber.startsWith('SBX-LATE-') && first && second) {
    const pickup = Date.parse(second.at);
    return new Date(pickup + 2 * Math.max(pickup - Date.parse(first.at), 1)).toISOString();
  }
  if (!trackingNumber.startsWith('SBX-ETA-') || !first) return null;
  return new Date(Date.parse(first.at) + SANDBOX_ETA_HOURS * 3_600_000).toISOString();
}

/** The sandbox carrier's answer to a tracking query: its own small JSON format. */
export interface SandboxTrackingBody {
  trackingNumber: string;
  status: ShipmentStatus;
  events: SandboxEvent[];
  estimatedDeliveryAt: string | null;
}

export function sandboxTrackingBody(trackingNumber: string, events: SandboxEvent[]): SandboxTrackingBody {
  return {
    trackingNumber,
    status: events.at(-1)?.status ?? 'info_received',
    events,
    estimatedDeliveryAt: sandboxEstimate(trackingNumber, events),
  };
}
