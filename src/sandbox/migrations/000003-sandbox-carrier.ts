/**
 * The sandbox carrier's state (docs/api.md section 7): its parcels with the events each refresh added, and
 * the fault being injected. In Postgres so that every web process answers alike and a restart forgets nothing.
 */
export const up = `
CREATE TABLE sandbox_carrier_parcels (
  tracking_number text PRIMARY KEY,
  events          jsonb NOT NULL DEFAULT '[]'::jsonb,
  queries         integer NOT NULL DEFAULT 0,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now()
);

-- One row at most: the carrier-wide fault and when it ends.
CREATE TABLE sandbox_carrier_faults (
  id         boolean PRIMARY KEY DEFAULT true CHECK (id),
  mode       text NOT NULL CHECK (mode IN ('error500', 'timeout', 'rate_limit', 'none')),
  until      timestamptz NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
`;
