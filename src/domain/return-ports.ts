import type { CarrierCode } from './carrier.js';
import type { ReturnInput } from './return-input.js';
import type { ReturnView } from './return.js';

export type { ReturnView } from './return.js';

export interface ReturnStore {
  /**
   * A return of a shipped or delivered order, once per Idempotency-Key (a replay answers the first return,
   * another request under the same key is refused). With `parcel`, the parcel's shipment row is created with
   * it, or a cancelled return's parcel of that number taken over: `shipmentId` is its first poll to queue.
   */
  request(q: {
    shopId: string; orderId: string; idempotencyKey: string; requestHash: string; input: ReturnInput;
    /** RETURNS_PER_ORDER_MAX; and OPEN_SHIPMENTS_PER_SHOP_MAX, which a return's parcel counts towards. */
    limits: { perOrder: number; openParcelsPerShop: number };
    parcel?: { carrier: CarrierCode; trackingNumber: string; estimate: { at: Date; source: string } } | undefined;
  }): Promise<{ ret: ReturnView; created: boolean; shipmentId: string | null }>;
  /** The shop has the goods back: received once; `refundId` is the refund to start. 409 for a cancelled return. */
  receive(shopId: string, returnId: string): Promise<{ ret: ReturnView; refundId: string | null }>;
  /**
   * Cancels a requested return, once: its lines free to be returned again, its parcel no longer followed (a
   * delivery of it later receives nothing). A cancelled return answers as it is; a received one is 409.
   */
  cancel(shopId: string, returnId: string, reason: string | null): Promise<ReturnView>;
  get(shopId: string, returnId: string): Promise<ReturnView>;
}
