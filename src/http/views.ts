import type { Order } from '../domain/order.js';
import type { ReturnView } from '../domain/return-ports.js';
import type { DelayedShipment, ShipmentView } from '../domain/tracking-ports.js';

export function shipmentView(s: ShipmentView) {
  return {
    id: s.id,
    carrier: s.carrier,
    trackingNumber: s.trackingNumber,
    status: s.status,
    estimatedDeliveryAt: s.estimatedDeliveryAt?.toISOString() ?? null,
    deliveredAt: s.deliveredAt?.toISOString() ?? null,
    delayed: s.delayedSince !== null,
    delayedSince: s.delayedSince?.toISOString() ?? null,
    trackingEndedAt: s.trackingEndedAt?.toISOString() ?? null,
    events: s.events.map((e) => ({ at: e.at.toISOString(), status: e.status, description: e.description, location: e.location })),
  };
}

/** A late parcel in the shop's list: the shipment without its events, with its order. */
export function delayedShipmentView(s: DelayedShipment) {
  const { events: _events, ...rest } = shipmentView({ ...s, events: [] });
  return { ...rest, orderId: s.orderId };
}

/** A return (docs/api.md section 7a): its lines, its refund once received, its parcel while it comes back, its cancellation. */
export function returnView(r: ReturnView) {
  return {
    id: r.id,
    orderId: r.orderId,
    status: r.status,
    reason: r.reason,
    restock: r.restock,
    items: r.items,
    amountMinor: r.amountMinor,
    currency: r.currency,
    refund: r.refund,
    parcel: r.parcel && {
      ...r.parcel,
      estimatedDeliveryAt: r.parcel.estimatedDeliveryAt?.toISOString() ?? null,
      deliveredAt: r.parcel.deliveredAt?.toISOString() ?? null,
      trackingEndedAt: r.parcel.trackingEndedAt?.toISOString() ?? null,
    },
    receivedBy: r.receivedBy,
    receivedAt: r.receivedAt?.toISOString() ?? null,
    cancelledAt: r.cancelledAt?.toISOString() ?? null,
    cancelReason: r.cancelReason,
    createdAt: r.createdAt.toISOString(),
  };
}

/** The public JSON of an order (docs/api.md section 5): no shop id, no payment token. */
export function orderView(o: Order) {
  return {
    id: o.id,
    externalId: o.externalId,
    status: o.status,
    statusReason: o.statusReason,
    currency: o.currency,
    totalMinor: o.totalMinor,
    items: o.items.map((i) => ({ sku: i.sku, quantity: i.quantity, unitPriceMinor: i.unitPriceMinor, lineTotalMinor: i.lineTotalMinor })),
    customer: o.customer,
    shippingAddress: o.shippingAddress,
    payment: o.payment,
    shipments: o.shipments.map(shipmentView),
    returns: o.returns.map(returnView),
    createdAt: o.createdAt.toISOString(),
    updatedAt: o.updatedAt.toISOString(),
  };
}
