/** The events a shop hears about (docs/api.md section 8), listed with the moves that raise them in the order's lifecycle. */
export { ORDER_EVENT_TYPES, type OrderEventType } from '../domain/order-lifecycle.js';
