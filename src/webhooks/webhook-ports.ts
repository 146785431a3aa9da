import type { OrderEventType } from './order-events.js';
import type { OrderRef, ShopRow } from '../domain/keys.js';

/** What the webhook delivery service needs from the outside world; adapters in src/db and src/webhooks. */

export type EventState = 'pending' | 'delivered' | 'failed' | 'skipped';
export type DeliveryOutcome = 'delivered' | 'failed' | 'retrying';

export interface OutboxEvent {
  id: string;
  seq: number;
  orderId: string;
  shopId: string;
  type: OrderEventType;
  createdAt: Date;
  /** The exact body, fixed at the first attempt; null before it. */
  payload: string | null;
  state: EventState;
  /** Where and how to send it: the shop's settings now, not when the event was recorded. */
  webhookUrl: string | null;
  webhookSecret: string;
}

export interface DeliveryAttempt {
  eventId: string;
  shopId: string;
  url: string;
  attempt: number;
  statusCode: number | null;
  error: string | null;
  durationMs: number;
  outcome: DeliveryOutcome;
}

export interface DeliveryView extends Omit<DeliveryAttempt, 'shopId'> {
  id: string;
  eventType: OrderEventType;
  orderId: string;
  createdAt: Date;
}

export interface WebhookStore {
  /**
   * Runs `fn` holding the order's delivery lease (a row with an expiry, so a dead process gives it up);
   * `acquired: false` without running it when another delivery of the order holds the lock.
   */
  withOrderLock<T>(order: OrderRef, fn: () => Promise<T>): Promise<{ acquired: true; value: T } | { acquired: false }>;
  /** The oldest pending event of the order. */
  nextPending(order: OrderRef): Promise<OutboxEvent | null>;
  event(order: OrderRef, eventId: string): Promise<OutboxEvent | null>;
  /** Stores the body unless one is stored already; returns the stored one (so every attempt sends the same). */
  fixPayload(event: ShopRow, body: string): Promise<string>;
  /** Counts an attempt; returns its number (1 for the first). */
  beginAttempt(event: ShopRow): Promise<number>;
  logAttempt(a: DeliveryAttempt): Promise<void>;
  /** pending|failed -> delivered; pending -> failed|skipped. A no-op from any other state. */
  settle(event: ShopRow, state: Exclude<EventState, 'pending'>): Promise<void>;
  /** The highest seq among the order's pending events: what a delivery job id is built from. */
  latestPendingSeq(order: OrderRef): Promise<number | null>;
  listDeliveries(shopId: string, q: { limit: number; after?: string | undefined; eventId?: string | undefined }): Promise<DeliveryView[]>;
  findDelivery(shopId: string, deliveryId: string): Promise<{ eventId: string; orderId: string } | null>;
}

/** The result of one POST to a shop, classified where it is born. */
export type SendResult =
  | { kind: 'delivered'; statusCode: number; durationMs: number }
  | { kind: 'transient' | 'permanent'; statusCode: number | null; error: string; durationMs: number };

export interface WebhookSender {
  post(url: string, body: string, headers: Record<string, string>): Promise<SendResult>;
}
