/**
 * Per-order delivery leases for webhooks. They replace a transaction-scoped advisory lock that pinned a pooled
 * connection (idle in transaction) for a whole delivery run while the run needed a second one: with as many runs
 * as pool connections, every run waited for a connection none would give back.
 */
export const up = `
CREATE TABLE webhook_leases (
  order_id uuid PRIMARY KEY,
  token    uuid NOT NULL,
  until    timestamptz NOT NULL
);
`;
