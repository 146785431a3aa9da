import { randomUUID } from 'node:crypto';
import { webhookDeliveryJob } from '../../jobs/webhook-delivery.job.js';
import type { WebhookStore } from '../webhooks/webhook-ports.js';
import type { OrderRef } from '../domain/keys.js';
import { enqueue } from './enqueue.js';
import type { QueueShards } from './queues.js';

export interface WebhookJobs {
  /**
   * Enqueues delivery of the order's pending events; call it after the transaction that recorded an event
   * commits. Nothing pending: nothing enqueued. A job for the same latest event already queued: a no-op.
   * As the publishers hand it out, it never rejects and says whether it queued (see job-publisher.ts).
   */
  deliver(order: OrderRef): Promise<unknown>;
  /** One more attempt of one event, whatever its state (a shop's redelivery). */
  redeliver(order: OrderRef, eventId: string): Promise<void>;
}

/** The `webhook-delivery` queue's publisher; `base` is its backoff base delay. An order's jobs share its shard. */
export function webhookJobs(shards: QueueShards, base: number, events: Pick<WebhookStore, 'latestPendingSeq'>): WebhookJobs {
  return {
    async deliver({ shopId, orderId }) {
      const seq = await events.latestPendingSeq({ shopId, orderId });
      if (seq !== null) await enqueue(shards, webhookDeliveryJob, { kind: 'deliver', shopId, orderId, seq }, base);
    },
    async redeliver({ shopId, orderId }, eventId) {
      await enqueue(shards, webhookDeliveryJob, { kind: 'redeliver', shopId, orderId, eventId, requestId: randomUUID() }, base);
    },
  };
}
