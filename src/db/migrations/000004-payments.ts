/** Capture bookkeeping on orders, and refunds: each with its own idempotency key, never more than captured. */
export const up = `
ALTER TABLE orders ADD COLUMN placed_at timestamptz;
ALTER TABLE orders ADD COLUMN cancelled_at timestamptz;

CREATE TABLE refunds (
  id                 uuid PRIMARY KEY,
  order_id           uuid NOT NULL REFERENCES orders(id),
  shop_id            uuid NOT NULL REFERENCES shops(id),
  idempotency_key    text NOT NULL,
  request_hash       text NOT NULL,
  amount_minor       bigint NOT NULL CHECK (amount_minor > 0),
  currency           char(3) NOT NULL,
  reason             text,
  status             text NOT NULL DEFAULT 'pending',
  provider_refund_id text,
  failure_reason     text,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  UNIQUE (shop_id, idempotency_key)
);
CREATE INDEX refunds_by_order ON refunds (order_id);
CREATE INDEX refunds_pending ON refunds (updated_at) WHERE status = 'pending';
`;
