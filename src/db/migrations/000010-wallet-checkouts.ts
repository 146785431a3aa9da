/**
 * Buyer-driven checkouts (docs/api.md section 6): how each order pays (`payment_flow`), what its buyer must do
 * (`payment_action`, while `payment_status` is `action_required`), the provider's id of the open trade, the
 * payment's own history shown to the shop, and each shop's merchant accounts at the providers (partner mode).
 * Orders from before this migration charged a token at once: wallets by payment code, PayPal and card by token.
 */
export const up = `
ALTER TABLE orders ADD COLUMN payment_flow text NOT NULL DEFAULT 'token';
UPDATE orders SET payment_flow = 'barcode' WHERE payment_method IN ('alipay', 'wechat_pay');
ALTER TABLE orders ADD CONSTRAINT orders_payment_flow_check CHECK (payment_flow IN ('barcode', 'token', 'qr', 'redirect', 'jsapi', 'h5'));
ALTER TABLE orders ADD COLUMN payment_checkout jsonb;
ALTER TABLE orders ADD COLUMN payment_action jsonb;
ALTER TABLE orders ADD COLUMN payment_trade text;
ALTER TABLE orders ADD COLUMN payment_expires_at timestamptz;
ALTER TABLE orders ADD COLUMN payment_events jsonb NOT NULL DEFAULT '[]';
ALTER TABLE orders DROP CONSTRAINT orders_payment_status_check;
ALTER TABLE orders ADD CONSTRAINT orders_payment_status_check CHECK (payment_status IN (
  'pending', 'action_required', 'captured', 'failed', 'partially_refunded', 'refunded'));
ALTER TABLE orders ADD COLUMN payment_trade_no integer NOT NULL DEFAULT 0 CHECK (payment_trade_no BETWEEN 0 AND 15);
ALTER TABLE shops ADD COLUMN merchants jsonb NOT NULL DEFAULT '{}';

-- A buyer's switch to another method (POST /v1/orders/{id}/payment), once per Idempotency-Key.
CREATE TABLE payment_switches (
  shop_id         uuid NOT NULL REFERENCES shops(id),
  idempotency_key text NOT NULL,
  order_id        uuid NOT NULL REFERENCES orders(id),
  request_hash    text NOT NULL,
  trade_no        integer NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (shop_id, idempotency_key)
);
`;
