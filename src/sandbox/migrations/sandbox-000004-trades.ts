/**
 * Trades that wait for a buyer. A row of sandbox_charges was a charge made at once (a payment code, a card
 * token); now it is a trade as its provider keeps it: opened by the merchant (an Alipay QR, a WeChat Native
 * or JSAPI prepay, a PayPal order, a PaymentIntent that needs 3-D Secure), paid, declined or closed by the
 * buyer on the hosted checkout page, or by the merchant's close. `amount_minor` stays what the buyer paid
 * (0 until then); `requested_minor` is what the merchant asked.
 *
 * Uniqueness follows the providers: Alipay and WeChat Pay key a trade by out_trade_no, PayPal by its order
 * id, the card API by the Idempotency-Key (or, without one, the merchant reference). PayPal orders move in
 * here from their own table.
 */
export const up = `
ALTER TABLE sandbox_charges
  ADD COLUMN trade_key       text,
  ADD COLUMN checkout_ref    text UNIQUE,
  ADD COLUMN flow            text NOT NULL DEFAULT 'token',
  ADD COLUMN merchant        text NOT NULL DEFAULT '',
  ADD COLUMN requested_minor bigint,
  ADD COLUMN notify_url      text,
  ADD COLUMN expires_at      timestamptz,
  ADD COLUMN paid_at         timestamptz,
  ADD COLUMN closed_at       timestamptz,
  ADD COLUMN scanned_at      timestamptz,
  ADD COLUMN approved_at     timestamptz,
  ADD COLUMN declined_at     timestamptz;

UPDATE sandbox_charges
   SET trade_key = CASE WHEN details ? 'idempotencyKey' THEN 'key:' || (details->>'idempotencyKey')
                        WHEN method = 'paypal' AND details ? 'orderId' THEN details->>'orderId'
                        ELSE reference END,
       requested_minor = amount_minor,
       paid_at = created_at;

ALTER TABLE sandbox_charges
  ALTER COLUMN trade_key SET NOT NULL,
  ALTER COLUMN requested_minor SET NOT NULL,
  DROP CONSTRAINT sandbox_charges_method_reference_key,
  ADD CONSTRAINT sandbox_charges_trade_key UNIQUE (method, trade_key),
  ADD CONSTRAINT sandbox_charges_status CHECK (status IN ('pending', 'captured', 'partially_refunded', 'refunded', 'closed')),
  ADD CONSTRAINT sandbox_charges_requested CHECK (requested_minor >= 0);

-- The ledger is read by merchant reference (GET /sandbox/charges?reference=).
CREATE INDEX sandbox_charges_by_reference ON sandbox_charges (reference);
-- The card API's idempotency is now its trade key, which the unique constraint indexes.
DROP INDEX sandbox_charges_by_idempotency_key;

INSERT INTO sandbox_charges (id, method, reference, trade_key, checkout_ref, flow, amount_minor, requested_minor, currency, status, token, details, created_at, approved_at)
SELECT 'SBXCAP' || upper(substr(md5(o.id), 1, 11)), 'paypal', o.reference, o.id, o.id, 'paypal_order', 0, o.amount_minor, o.currency,
       'pending', split_part(o.id, '~', 1), '{}'::jsonb, o.created_at, o.created_at
  FROM sandbox_paypal_orders o
 WHERE NOT EXISTS (SELECT 1 FROM sandbox_charges c WHERE c.method = 'paypal' AND c.trade_key = o.id);
DROP TABLE sandbox_paypal_orders;
`;
