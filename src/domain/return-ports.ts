import type { CarrierCode, ShipmentStatus } from './carrier.js';
import type { RefundStatus, ReturnStatus } from './order-lifecycle.js';
import type { ReturnInput } from './return-input.js';

/** A return as the shop sees it (docs/api.md section 7a), in `GET` of its order and of itself. */
export interface ReturnView {
  id: string;
  orderId: string;
  status: ReturnStatus;
  reason: string;
  restock: boolean;
  /** The lines taken back, priced as they were sold. */
  items: Array<{ sku: string; quantity: number; unitPriceMinor: number }>;
  /** Their value; the refund is this, capped at what is left of the capture. */
  amountMinor: number;
  currency: string;
  /** The refund made when the return was received; null before, or when nothing was left to refund. */
  refund: { id: string; amountMinor: number; status: RefundStatus } | null;
  /** The parcel the buyer sends back, followed like a shipment; null without a tracking number. */
  parcel: {
    id: string; carrier: CarrierCode; trackingNumber: string; status: ShipmentStatus; estimatedDeliveryAt: Date | null; deliveredAt: Date | null;
  } | null;
  receivedBy: 'parcel' | 'shop' | null;
  receivedAt: Date | null;
  createdAt: Date;
}

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
