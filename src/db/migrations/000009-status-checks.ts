/**
 * The schema backs up the order's lifecycle (src/domain/order-lifecycle.ts): each status column accepts only
 * the states the lifecycle lists. The values are written out, not imported, because a migration that has
 * shipped must never change; a test checks that these constraints, as the database holds them after every
 * migration, list exactly the lifecycle's states. A new state is a new migration that replaces its constraint.
 */
export const up = `
ALTER TABLE orders ADD CONSTRAINT orders_status_check CHECK (status IN (
  'received', 'placed', 'paid', 'shipped', 'delivered', 'rejected', 'payment_failed', 'cancelled', 'refunded'));
ALTER TABLE orders ADD CONSTRAINT orders_payment_status_check CHECK (payment_status IN (
  'pending', 'captured', 'failed', 'partially_refunded', 'refunded'));
ALTER TABLE orders ADD CONSTRAINT orders_stock_state_check CHECK (stock_state IN ('none', 'reserved', 'sold', 'released'));
ALTER TABLE shipments ADD CONSTRAINT shipments_status_check CHECK (status IN (
  'info_received', 'in_transit', 'out_for_delivery', 'delivered', 'exception'));
ALTER TABLE shipment_events ADD CONSTRAINT shipment_events_status_check CHECK (status IN (
  'info_received', 'in_transit', 'out_for_delivery', 'delivered', 'exception'));
ALTER TABLE refunds ADD CONSTRAINT refunds_status_check CHECK (status IN ('pending', 'succeeded', 'failed'));
`;
