import type { CarrierCode } from './carrier.js';
import type { ReturnInput } from './return-input.js';
import type { ReturnView } from './return.js';

export type { ReturnView } from './return.js';

export interface ReturnStore {
  /**
   * A return of a shipped or delivered order, once per Idempotency-Key (a replay answers the first return,
   * another request under the same key is refused). With `parcel`, the parcel's shipment row is created with
   * it: `shipmentId` is its first poll to queue.
   */
  request(q: {
    shopId: string; orderId: string; idempotencyKey: string; requestHash: string; input: ReturnInput;
    /** RETURNS_PER_ORDER_MAX; and OPEN_SHIPMENTS_PER_SHOP_MAX, which a return's parcel counts towards. */
    limits: { perOrder: number; openParcelsPerShop: number };
    parcel?: { carrier: CarrierCode; trackingNumber: string; estimate: { at: Date; source: string } } | undefined;
  }): Promise<{ ret: ReturnView; created: boolean; shipmentId: string | null }>;
  /** The shop has the goods back: received once; `refundId` is the refund to start. */
  receive(shopId: string, returnId: string): Promise<{ ret: ReturnView; refundId: string | null }>;
  get(shopId: string, returnId: string): Promise<ReturnView>;
}
