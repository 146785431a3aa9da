/**
 * Issue 14 review: carrier news arrives out of order (Kuaidi100 sends a push again, a poll's answer is stored after
 * a newer push). A shipment remembers the time of the newest carrier event it has stored (`newest_event_at`), read
 * under the shipment's row lock, so an answer whose events are all older moves nothing back. NULL while a parcel
 * has none. Not filled here: an UPDATE of every shipment inside the migration's transaction would hold the table's
 * lock (every read and write of shipments waits) for as long as it runs; the poll that next stores an answer reads
 * a NULL as the newest of the events already stored (shipment-poll.ts), so the column fills itself parcel by parcel.
 */
export const up = `
ALTER TABLE shipments ADD COLUMN newest_event_at timestamptz;
`;
