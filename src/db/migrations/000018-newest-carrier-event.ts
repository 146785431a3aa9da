/**
 * Issue 14 review: carrier news arrives out of order (Kuaidi100 sends a push again, a poll's answer is stored after
 * a newer push). A shipment remembers the time of the newest carrier event it has stored (`newest_event_at`), read
 * under the shipment's row lock, so an answer whose events are all older moves nothing back. Filled from the
 * events already stored; NULL while a parcel has none.
 */
export const up = `
ALTER TABLE shipments ADD COLUMN newest_event_at timestamptz;
UPDATE shipments s SET newest_event_at = e.newest
  FROM (SELECT shop_id, shipment_id, max(at) AS newest FROM shipment_events GROUP BY shop_id, shipment_id) e
 WHERE s.shop_id = e.shop_id AND s.id = e.shipment_id;
`;
