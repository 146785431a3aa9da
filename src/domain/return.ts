import type { CarrierCode, ShipmentStatus } from './carrier.js';
import type { RefundStatus, ReturnStatus } from './order-lifecycle.js';

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
  /**
   * The parcel the buyer sends back, followed like a shipment; null without a tracking number. `trackingEndedAt`:
   * when we stopped following it (its return cancelled, or an exception given up), null while we follow it.
   */
  parcel: {
    id: string; carrier: CarrierCode; trackingNumber: string; status: ShipmentStatus; estimatedDeliveryAt: Date | null; deliveredAt: Date | null;
    trackingEndedAt: Date | null;
  } | null;
  receivedBy: 'parcel' | 'shop' | null;
  receivedAt: Date | null;
  /** When the shop cancelled it, and why if it said; null otherwise. */
  cancelledAt: Date | null;
  cancelReason: string | null;
  createdAt: Date;
}
