/**
 * Issue 14, first slice: a failed delivery attempt and a return to the sender are states of their own; only
 * `delivered` and `returned_to_sender` end a parcel's polling (an `exception` is polled more slowly). A parcel
 * remembers when news last came (`last_news_at`, for staleness) and since when it is late (`delayed_since`,
 * set once per delay: the `shipment.delayed` event is recorded with it). Values written out, as in 000009.
 */
export const up = `
ALTER TABLE shipments DROP CONSTRAINT shipments_status_check;
ALTER TABLE shipments ADD CONSTRAINT shipments_status_check CHECK (status IN (
  'info_received', 'in_transit', 'out_for_delivery', 'failed_attempt', 'delivered', 'returned_to_sender', 'exception'));
ALTER TABLE shipment_events DROP CONSTRAINT shipment_events_status_check;
ALTER TABLE shipment_events ADD CONSTRAINT shipment_events_status_check CHECK (status IN (
  'info_received', 'in_transit', 'out_for_delivery', 'failed_attempt', 'delivered', 'returned_to_sender', 'exception'));

ALTER TABLE shipments ADD COLUMN last_news_at timestamptz;
UPDATE shipments SET last_news_at = updated_at;
ALTER TABLE shipments ALTER COLUMN last_news_at SET DEFAULT now();
ALTER TABLE shipments ALTER COLUMN last_news_at SET NOT NULL;
ALTER TABLE shipments ADD COLUMN delayed_since timestamptz;

DROP INDEX shipments_due;
CREATE INDEX shipments_due ON shipments (next_poll_at) WHERE status NOT IN ('delivered', 'returned_to_sender');
-- The delay sweep's candidates, and the shop's list of late parcels (oldest delay first).
CREATE INDEX shipments_open_by_estimate ON shipments (estimated_delivery_at)
  WHERE delayed_since IS NULL AND status NOT IN ('delivered', 'returned_to_sender');
CREATE INDEX shipments_open_by_news ON shipments (last_news_at)
  WHERE delayed_since IS NULL AND status NOT IN ('delivered', 'returned_to_sender');
CREATE INDEX shipments_delayed_by_shop ON shipments (shop_id, delayed_since, id) WHERE delayed_since IS NOT NULL;
`;
