/**
 * Issue 14, Kuaidi100 push: a shipment remembers the underlying carrier its aggregator recognised for its
 * waybill (Kuaidi100's `com`, asked once rather than at every poll), and where its push subscription stands:
 * NULL never subscribed (push off, or not yet), `subscribed` the carrier calls us back (polls are a slower
 * safety net), `ended` the carrier stopped following it (polls take over at their usual pace), `refused` the
 * carrier would not follow it (never asked again). Callbacks find their shipments by carrier and number.
 */
export const up = `
ALTER TABLE shipments ADD COLUMN carrier_com text;
ALTER TABLE shipments ADD COLUMN push_status text;
ALTER TABLE shipments ADD CONSTRAINT shipments_push_status_check CHECK (push_status IN ('subscribed', 'ended', 'refused'));
CREATE INDEX shipments_by_number ON shipments (carrier, tracking_number);
`;
