/**
 * Issue 14, fairness: one shop's backlog must not starve the others.
 *
 * - The fan-out claims each carrier's due parcels round-robin across shops: `shipments_open_by_shop` lets it
 *   walk the shops with open parcels of a carrier (a loose index scan) and read each one's oldest due parcels,
 *   without sorting every due row of the carrier.
 * - `shops.open_shipments` counts a shop's parcels not yet final, for OPEN_SHIPMENTS_PER_SHOP_MAX: a creation
 *   reads it under the shop row's lock, so concurrent creations cannot pass the limit together. A trigger keeps
 *   it, whoever writes shipments. It is deferred to commit: a poll that delivers a parcel locks the shipment, then
 *   its order, and only then the shop, the order in which a creation locks them (order, then shop), so the two
 *   cannot deadlock. It costs one shop row update per parcel that opens or ends, each in its own transaction
 *   as the app writes them (a bulk write of many parcels of one shop in one transaction would update that row
 *   once per parcel). Final states written out, as in 000011.
 */
export const up = `
CREATE INDEX shipments_open_by_shop ON shipments (carrier, shop_id, next_poll_at)
  WHERE status NOT IN ('delivered', 'returned_to_sender');

ALTER TABLE shops ADD COLUMN open_shipments integer NOT NULL DEFAULT 0 CHECK (open_shipments >= 0);
UPDATE shops SET open_shipments = o.n
  FROM (SELECT shop_id, count(*) AS n FROM shipments WHERE status NOT IN ('delivered', 'returned_to_sender') GROUP BY shop_id) o
 WHERE shops.id = o.shop_id;

CREATE FUNCTION shipments_count_open() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  was boolean := TG_OP <> 'INSERT' AND OLD.status NOT IN ('delivered', 'returned_to_sender');
  is_open boolean := TG_OP <> 'DELETE' AND NEW.status NOT IN ('delivered', 'returned_to_sender');
BEGIN
  IF was AND NOT is_open THEN
    UPDATE shops SET open_shipments = open_shipments - 1 WHERE id = OLD.shop_id;
  ELSIF is_open AND NOT was THEN
    UPDATE shops SET open_shipments = open_shipments + 1 WHERE id = NEW.shop_id;
  END IF;
  RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER shipments_count_open AFTER INSERT OR UPDATE OF status OR DELETE ON shipments
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION shipments_count_open();
`;
