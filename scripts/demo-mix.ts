/**
 * What happens to order n's parcel and goods, deterministic by its number, so two runs of the same size tell the
 * same story (docs/api.md section 7 lists the sandbox carrier's scripts).
 *
 * Parcels, the rarest script first where numbers meet (77 is late, not retried):
 * - every 11th `SBX-RETURN-`: a failed attempt, then returned to the sender;
 * - every 13th `SBX-LOST-`: lost at the hub, in `exception` for good;
 * - every 7th `SBX-LATE-`: stops after `in_transit`, so orderworks flags it delayed once the carrier's estimate
 *   (two refreshes after pickup) has passed;
 * - every 5th `SBX-RETRY-`: a failed delivery attempt, then out again and delivered;
 * - the rest plain `SBX-`: delivered in four steps.
 * The last three kinds of order stay `shipped` for good: their parcels will not move on.
 *
 * Returns: the buyer of every 3rd order sends one unit of its first line back once it is delivered, by parcel
 * (followed by orderworks, whose delivery receives it); every 12th hands it in at the shop instead, which
 * receives it by hand.
 */
export type ParcelKind = 'plain' | 'retry' | 'late' | 'return' | 'lost';

export function parcelKindOf(n: number): ParcelKind {
  if (n % 11 === 0) return 'return';
  if (n % 13 === 0) return 'lost';
  if (n % 7 === 0) return 'late';
  if (n % 5 === 0) return 'retry';
  return 'plain';
}

const PREFIX: Record<ParcelKind, string> = { plain: 'SBX-', retry: 'SBX-RETRY-', late: 'SBX-LATE-', return: 'SBX-RETURN-', lost: 'SBX-LOST-' };

/** Order n's parcel: its kind's prefix, the run, the order's number (`SBX-LATE-1A2B3C-7`). */
export function trackingNumberOf(run: string, n: number): string {
  return `${PREFIX[parcelKindOf(n)]}${run.toUpperCase()}-${n}`;
}

/** The kind of an `SBX-` tracking number this mix issued. */
export function kindOfTrackingNumber(trackingNumber: string): ParcelKind {
  const kind = (Object.keys(PREFIX) as ParcelKind[]).find((k) => k !== 'plain' && trackingNumber.startsWith(PREFIX[k]));
  return kind ?? 'plain';
}

/** Whether order n's buyer sends goods back once it is delivered, and how they come back. */
export function returnOf(n: number): { byHand: boolean } | null {
  if (n % 3 !== 0) return null;
  return { byHand: n % 12 === 0 };
}

/** The return's own parcel (`SBX-1A2B3C-R9`): a plain one, delivered back to the shop in four steps. */
export function returnTrackingNumberOf(run: string, n: number): string {
  return `SBX-${run.toUpperCase()}-R${n}`;
}
