/** Shops, their catalog, and orders with their lines: the spine of the pipeline. */
export const up = `
CREATE TABLE shops (
  id             uuid PRIMARY KEY,
  name           text NOT NULL,
  api_key_hash   text NOT NULL UNIQUE,
  webhook_url    text,
  webhook_secret text NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE products (
  id          bigserial PRIMARY KEY,
  shop_id     uuid NOT NULL REFERENCES shops(id),
  sku         text NOT NULL,
  name        text NOT NULL,
  price_minor bigint NOT NULL CHECK (price_minor >= 0),
  currency    char(3) NOT NULL,
  stock       integer NOT NULL CHECK (stock >= 0),
  reserved    integer NOT NULL DEFAULT 0 CHECK (reserved >= 0),
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  UNIQUE (shop_id, sku)
);

CREATE TABLE orders (
  id                 uuid PRIMARY KEY,
  shop_id            uuid NOT NULL REFERENCES shops(id),
  idempotency_key    text NOT NULL,
  request_hash       text NOT NULL,
  external_id        text,
  status             text NOT NULL,
  status_reason      text,
  currency           char(3) NOT NULL,
  total_minor        bigint,
  customer           jsonb NOT NULL,
  shipping_address   jsonb NOT NULL,
  payment_method     text NOT NULL,
  payment_token      text NOT NULL,
  payment_status     text NOT NULL DEFAULT 'pending',
  provider_reference text,
  captured_minor     bigint NOT NULL DEFAULT 0,
  refunded_minor     bigint NOT NULL DEFAULT 0,
  payment_attempts   integer NOT NULL DEFAULT 0,
  -- none -> reserved -> released | sold: each move is a conditional update, so it happens once
  stock_state        text NOT NULL DEFAULT 'none',
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  UNIQUE (shop_id, idempotency_key),
  CHECK (refunded_minor <= captured_minor)
);
CREATE INDEX orders_by_shop ON orders (shop_id, id DESC);
CREATE INDEX orders_by_shop_status ON orders (shop_id, status, id DESC);
CREATE INDEX orders_open ON orders (updated_at) WHERE status IN ('received', 'placed');

CREATE TABLE order_items (
  order_id         uuid NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
  line_no          integer NOT NULL,
  sku              text NOT NULL,
  quantity         integer NOT NULL CHECK (quantity > 0),
  product_id       bigint REFERENCES products(id),
  unit_price_minor bigint,
  line_total_minor bigint,
  PRIMARY KEY (order_id, line_no)
);
`;
