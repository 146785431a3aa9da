/** The events a shop hears about (docs/api.md section 8). */
export const ORDER_EVENT_TYPES = [
  'order.placed', 'order.rejected', 'order.paid', 'order.payment_failed', 'order.shipped', 'shipment.updated',
  'order.delivered', 'order.cancelled', 'order.refunded',
] as const;
export type OrderEventType = (typeof ORDER_EVENT_TYPES)[number];
