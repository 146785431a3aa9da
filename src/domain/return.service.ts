import { fingerprint } from './ids.js';
import type { PaymentJobs } from './payment-ports.js';
import type { ReturnCancelInput, ReturnInput } from './return-input.js';
import type { ReturnStore } from './return-ports.js';
import { newParcel, type ShipmentCreationDeps } from './tracking.service.js';

export type ReturnDeps = Pick<ShipmentCreationDeps, 'jobs' | 'serviceLevelHours' | 'unconfigured'> & {
  returns: ReturnStore;
  refunds: Pick<PaymentJobs, 'refund'>;
  /** RETURNS_PER_ORDER_MAX, and OPEN_SHIPMENTS_PER_SHOP_MAX (a return's parcel is one of the shop's open parcels). */
  limits: { perOrder: number; openParcelsPerShop: number };
};

/**
 * `POST /v1/orders/{id}/returns`: the buyer sends goods back. With a tracking number, its parcel is followed
 * like a shipment from now on, and its delivery receives the return (tracking.service, `pollShipments`).
 */
export async function requestReturn(deps: ReturnDeps, shopId: string, orderId: string, idempotencyKey: string, input: ReturnInput) {
  const parcel = input.carrier && input.trackingNumber
    ? { carrier: input.carrier, trackingNumber: input.trackingNumber, ...newParcel(deps, input.carrier) }
    : undefined;
  const result = await deps.returns.request({
    shopId, orderId, idempotencyKey, requestHash: fingerprint(input), input, limits: deps.limits, parcel,
  });
  if (result.shipmentId && parcel) await deps.jobs.poll(parcel.carrier, [{ id: result.shipmentId, shopId }]);
  return result;
}

/**
 * `POST /v1/returns/{id}/receive`: the shop has the goods back. Received once: a repeat answers the return as
 * it is, and starts its refund again if that is still pending (the job is keyed on the refund, so at most once).
 */
export async function receiveReturn(deps: Pick<ReturnDeps, 'returns' | 'refunds'>, shopId: string, returnId: string) {
  const { ret, refundId } = await deps.returns.receive(shopId, returnId);
  const start = refundId ?? (ret.refund?.status === 'pending' ? ret.refund.id : null);
  if (start) await deps.refunds.refund({ shopId, id: start });
  return ret;
}

/**
 * `POST /v1/returns/{id}/cancel`: the buyer changed their mind, or the shop refuses the return. Only a requested
 * return; a repeat answers it as it is. Nothing follows the commit: its webhook goes through the outbox.
 */
export async function cancelReturn(deps: Pick<ReturnDeps, 'returns'>, shopId: string, returnId: string, input: ReturnCancelInput) {
  return deps.returns.cancel(shopId, returnId, input.reason ?? null);
}
