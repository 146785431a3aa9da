import { isUuid } from './ids.js';

/**
 * Where a shop's list of late parcels goes on (`GET /v1/shipments?delayed=true`, oldest delay first): after the
 * parcel with this `id`, late since `delayedSinceUs` (microseconds since the epoch: the precision the list is
 * ordered by, finer than the API's times). The cursor carries the position itself, so the list goes on when that
 * parcel has stopped being late meanwhile. A cursor of the earlier form, the bare id, has no time: the store looks
 * the parcel up, as it did then.
 */
export interface DelayedPosition {
  id: string;
  delayedSinceUs: string | null;
}

/** Opaque to the shop: only this API reads it. */
export const delayedCursor = (p: { id: string; delayedSinceUs: string }) => Buffer.from(`${p.delayedSinceUs}.${p.id}`).toString('base64url');

/** The position a cursor names; null for one this API never gave (a time past what the database can add up is one). */
export function readDelayedCursor(cursor: string): DelayedPosition | null {
  if (isUuid(cursor)) return { id: cursor, delayedSinceUs: null };
  if (cursor.length > 96 || !/^[A-Za-z0-9_-]+$/.test(cursor)) return null;
  const m = /^(\d{1,16})\.([0-9a-f-]{36})$/i.exec(Buffer.from(cursor, 'base64url').toString('latin1'));
  if (!m || !isUuid(m[2]!) || !Number.isSafeInteger(Number(m[1]))) return null;
  return { id: m[2]!, delayedSinceUs: m[1]! };
}
