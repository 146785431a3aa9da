/**
 * Issue 14, returns: goods a buyer sends back. A return lists the lines it takes back (priced as they were
 * sold), is `requested` until its parcel is delivered or the shop receives it, then `received` once: its refund
 * (a row in `refunds`, through the payment refund path) and its restock happen with that one move. A return
 * sent with a tracking number has its parcel in `shipments` (`return_id` set), followed like any parcel.
 */
export const up = `
CREATE TABLE returns (
  id              uuid PRIMARY KEY,
  order_id        uuid NOT NULL REFERENCES orders(id),
  shop_id         uuid NOT NULL REFERENCES shops(id),
  idempotency_key text NOT NULL,
  request_hash    text NOT NULL,
  status          text NOT NULL DEFAULT 'requested' CHECK (status IN ('requested', 'received')),
  reason          text NOT NULL,
  restock         boolean NOT NULL DEFAULT false,
  -- The returned lines' value as sold; the refund is this, capped at what is left of the capture.
  amount_minor    bigint NOT NULL CHECK (amount_minor >= 0),
  currency        char(3) NOT NULL,
  refund_id       uuid REFERENCES refunds(id),
  received_by     text CHECK (received_by IN ('parcel', 'shop')),
  received_at     timestamptz,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  UNIQUE (shop_id, idempotency_key),
  CHECK ((status = 'received') = (received_at IS NOT NULL))
);
CREATE INDEX returns_by_order ON returns (order_id, created_at);

CREATE TABLE return_items (
  return_id        uuid NOT NULL REFERENCES returns(id) ON DELETE CASCADE,
  sku              text NOT NULL,
  quantity         integer NOT NULL CHECK (quantity > 0),
  product_id       bigint REFERENCES products(id),
  unit_price_minor bigint NOT NULL CHECK (unit_price_minor >= 0),
  PRIMARY KEY (return_id, sku)
);

ALTER TABLE shipments ADD COLUMN return_id uuid REFERENCES returns(id);
CREATE UNIQUE INDEX shipments_of_return ON shipments (return_id) WHERE return_id IS NOT NULL;
`;
