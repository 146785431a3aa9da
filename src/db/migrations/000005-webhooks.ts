/**
 * Webhooks to shops: a transactional outbox of order events (written in the same transaction as the state
 * change they report) and a log of every delivery attempt.
 *
 * `payload` is `text`, not `jsonb`: it holds the exact bytes sent at the first attempt, and jsonb would reorder
 * keys and drop whitespace, so a retry could not send (and sign) the same bytes.
 * `state`: pending -> delivered (a 2xx) | failed (a permanent refusal, or retries given up) | skipped (the shop
 * has no webhookUrl when the event comes up). A failed event may later become delivered through a redelivery.
 */
export const up = `
CREATE TABLE order_events (
  id           uuid PRIMARY KEY,
  seq          bigserial NOT NULL UNIQUE,
  order_id     uuid NOT NULL REFERENCES orders(id),
  shop_id      uuid NOT NULL REFERENCES shops(id),
  type         text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  payload      text,
  state        text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed', 'skipped')),
  attempts     integer NOT NULL DEFAULT 0,
  delivered_at timestamptz,
  updated_at   timestamptz NOT NULL DEFAULT now()
);
-- The undelivered events of an order, oldest first: what a delivery job walks.
CREATE INDEX order_events_pending ON order_events (order_id, seq) WHERE state = 'pending';
-- Pending events left behind (a lost enqueue): what a repair sweep looks for.
CREATE INDEX order_events_pending_age ON order_events (created_at) WHERE state = 'pending';

CREATE TABLE webhook_deliveries (
  id          uuid PRIMARY KEY,
  event_id    uuid NOT NULL REFERENCES order_events(id),
  shop_id     uuid NOT NULL REFERENCES shops(id),
  url         text NOT NULL,
  attempt     integer NOT NULL,
  status_code integer,
  error       text,
  duration_ms integer NOT NULL,
  outcome     text NOT NULL CHECK (outcome IN ('delivered', 'failed', 'retrying')),
  created_at  timestamptz NOT NULL DEFAULT now()
);
-- Ids are UUIDv7 (time-ordered): a shop's log newest first, and its cursor, are one index scan.
CREATE INDEX webhook_deliveries_by_shop ON webhook_deliveries (shop_id, id DESC);
CREATE INDEX webhook_deliveries_by_event ON webhook_deliveries (event_id, id DESC);
`;
