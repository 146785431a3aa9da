/**
 * The sandbox card provider checks every capture's Idempotency-Key against the charges it already made: without
 * an index that was a scan of every card charge per capture, a cost growing with the ledger that no real
 * provider puts on its callers.
 */
export const up = `
CREATE INDEX sandbox_charges_by_idempotency_key ON sandbox_charges (method, (details->>'idempotencyKey'));
`;
