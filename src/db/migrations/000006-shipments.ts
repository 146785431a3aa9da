/** Shipments of paid orders, their carrier events, and the polling schedule of open ones. */
export const up = `
CREATE TABLE shipments (
  id                    uuid PRIMARY KEY,
  order_id              uuid NOT NULL REFERENCES orders(id),
  shop_id               uuid NOT NULL REFERENCES shops(id),
  carrier               text NOT NULL,
  tracking_number       text NOT NULL,
  status                text NOT NULL DEFAULT 'info_received',
  from_city             text,
  to_city               text,
  phone                 text,
  picked_up_at          timestamptz,
  estimated_delivery_at timestamptz,
  estimate_source       text,
  delivered_at          timestamptz,
  -- The poll schedule: a shipment is due when next_poll_at has passed; a claim pushes it forward, so a
  -- shipment already queued is never queued again by the next tick.
  next_poll_at          timestamptz NOT NULL DEFAULT now(),
  last_polled_at        timestamptz,
  poll_failures         integer NOT NULL DEFAULT 0,
  created_at            timestamptz NOT NULL DEFAULT now(),
  updated_at            timestamptz NOT NULL DEFAULT now(),
  UNIQUE (order_id, carrier, tracking_number)
);
CREATE INDEX shipments_by_order ON shipments (order_id);
CREATE INDEX shipments_due ON shipments (next_poll_at) WHERE status NOT IN ('delivered', 'exception');
CREATE INDEX shipments_delivered_route ON shipments (carrier, lower(from_city), lower(to_city), delivered_at DESC)
  WHERE status = 'delivered';

CREATE TABLE shipment_events (
  shipment_id uuid NOT NULL REFERENCES shipments(id) ON DELETE CASCADE,
  at          timestamptz NOT NULL,
  status      text NOT NULL,
  description text NOT NULL,
  location    text,
  recorded_at timestamptz NOT NULL DEFAULT now(),
  -- The same event reported by every poll is stored once.
  PRIMARY KEY (shipment_id, at, status, description)
);
`;
