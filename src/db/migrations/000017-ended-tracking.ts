/**
 * Issue 14: parcels we stop following, and returns that are cancelled.
 *
 * - A return may be `cancelled` while it is `requested` (when, and why: `cancelled_at`, `cancel_reason`). Its
 *   lines no longer count as returned, and its parcel is no longer followed.
 * - A parcel we stop following keeps the carrier's last word as its status: `status` is what the carrier says
 *   (the shipment lifecycle records it, it never decides it), while following a parcel is our decision, so it is
 *   a fact of its own beside the status rather than a status the carrier never sent. `tracking_ended_at` is when
 *   we stopped, `tracking_end` why: `given_up` (an `exception` without news for too long: the parcel is the shop's
 *   to chase, and news a carrier still pushes revives it) or `return_cancelled` (for good).
 * - A parcel whose tracking ended is no longer open: `shops.open_shipments` (the trigger of 000014, now fired by
 *   either column) and the claim's index leave it out, so a shop's lost parcels stop using up its
 *   OPEN_SHIPMENTS_PER_SHOP_MAX and the claim stops walking them. Rows before this migration have no end, so the
 *   counts stand as they are; the tracking tick gives up the quiet exceptions among them in batches.
 * Final states written out, as in 000011.
 */
export const up = `
ALTER TABLE returns DROP CONSTRAINT returns_status_check;
ALTER TABLE returns ADD CONSTRAINT returns_status_check CHECK (status IN ('requested', 'received', 'cancelled'));
ALTER TABLE returns ADD COLUMN cancelled_at timestamptz;
ALTER TABLE returns ADD COLUMN cancel_reason text;
ALTER TABLE returns ADD CONSTRAINT returns_cancelled_check CHECK ((status = 'cancelled') = (cancelled_at IS NOT NULL));

ALTER TABLE shipments ADD COLUMN tracking_ended_at timestamptz;
ALTER TABLE shipments ADD COLUMN tracking_end text CHECK (tracking_end IN ('given_up', 'return_cancelled'));
ALTER TABLE shipments ADD CONSTRAINT shipments_tracking_ended_check CHECK ((tracking_end IS NULL) = (tracking_ended_at IS NULL));

DROP INDEX shipments_open_by_shop;
CREATE INDEX shipments_open_by_shop ON shipments (carrier, shop_id, next_poll_at)
  WHERE status NOT IN ('delivered', 'returned_to_sender') AND tracking_ended_at IS NULL;
-- The give-up sweep's candidates: exceptions still followed, oldest news first.
CREATE INDEX shipments_followed_exceptions ON shipments (last_news_at)
  WHERE status = 'exception' AND tracking_ended_at IS NULL;

CREATE OR REPLACE FUNCTION shipments_count_open() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  was boolean := TG_OP <> 'INSERT' AND OLD.status NOT IN ('delivered', 'returned_to_sender') AND OLD.tracking_ended_at IS NULL;
  is_open boolean := TG_OP <> 'DELETE' AND NEW.status NOT IN ('delivered', 'returned_to_sender') AND NEW.tracking_ended_at IS NULL;
BEGIN
  IF was AND NOT is_open THEN
    UPDATE shops SET open_shipments = open_shipments - 1 WHERE id = OLD.shop_id;
  ELSIF is_open AND NOT was THEN
    UPDATE shops SET open_shipments = open_shipments + 1 WHERE id = NEW.shop_id;
  END IF;
  RETURN NULL;
END $$;
DROP TRIGGER shipments_count_open ON shipments;
CREATE CONSTRAINT TRIGGER shipments_count_open AFTER INSERT OR UPDATE OF status, tracking_ended_at OR DELETE ON shipments
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION shipments_count_open();
`;
