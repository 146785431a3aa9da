/**
 * The sandbox payment provider's own state (docs/api.md section 6). It lives in Postgres, not in memory, so
 * that every web process answers alike, a restart keeps the ledger, and a test can prove "exactly one charge".
 * Only SANDBOX=1 deployments ever write these tables.
 */
export const up = `
-- One row: the key pairs and secrets both the sandbox and the adapters in sandbox mode use.
CREATE TABLE sandbox_credentials (
  id         smallint PRIMARY KEY CHECK (id = 1),
  data       jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- The provider's ledger: one charge per (method, merchant reference) is the provider's idempotency.
CREATE TABLE sandbox_charges (
  id             text PRIMARY KEY,
  method         text NOT NULL,
  reference      text NOT NULL,
  amount_minor   bigint NOT NULL CHECK (amount_minor >= 0),
  currency       char(3) NOT NULL,
  status         text NOT NULL,
  refunded_minor bigint NOT NULL DEFAULT 0,
  token          text NOT NULL,
  details        jsonb NOT NULL DEFAULT '{}',
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now(),
  UNIQUE (method, reference),
  CHECK (refunded_minor >= 0 AND refunded_minor <= amount_minor)
);

-- Refunds, unique per merchant refund key (out_request_no, out_refund_no, PayPal-Request-Id, Idempotency-Key).
CREATE TABLE sandbox_refunds (
  id           text PRIMARY KEY,
  method       text NOT NULL,
  refund_key   text NOT NULL,
  charge_id    text NOT NULL REFERENCES sandbox_charges(id),
  amount_minor bigint NOT NULL CHECK (amount_minor > 0),
  details      jsonb NOT NULL DEFAULT '{}',
  created_at   timestamptz NOT NULL DEFAULT now(),
  UNIQUE (method, refund_key)
);

-- Capture calls per merchant reference: tok_flaky's "first two answer 503" survives restarts and processes.
CREATE TABLE sandbox_capture_attempts (
  method    text NOT NULL,
  reference text NOT NULL,
  attempts  integer NOT NULL,
  PRIMARY KEY (method, reference)
);

-- PayPal orders the buyer "approved": amount and custom_id set by the merchant's PATCH before capture.
CREATE TABLE sandbox_paypal_orders (
  id           text PRIMARY KEY,
  reference    text NOT NULL,
  amount_minor bigint NOT NULL,
  currency     char(3) NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now()
);

-- Injected faults for chaos tests: every process reads them here.
CREATE TABLE sandbox_faults (
  method text PRIMARY KEY,
  mode   text NOT NULL,
  until  timestamptz NOT NULL
);
`;
