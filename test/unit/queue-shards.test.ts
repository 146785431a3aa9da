import type { Queue } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { QUEUE_NAMES } from '../../jobs/index.js';
import { maintenanceJob } from '../../jobs/maintenance.job.js';
import { orderPlacementJob } from '../../jobs/order-placement.job.js';
import { paymentCaptureJob } from '../../jobs/payment-capture.job.js';
import { trackingPollJob } from '../../jobs/tracking-poll.job.js';
import { webhookDeliveryJob } from '../../jobs/webhook-delivery.job.js';
import { queueShards, type Queues } from '../../src/queue/queues.js';
import { keySlot, shardOf, shardPrefixes, shardTags, SLOTS } from '../../src/queue/shards.js';

/** The three equal slot ranges `redis-cli --cluster create` gives three masters. */
const third = (slot: number) => Math.floor((slot * 3) / SLOTS);

describe('queue shards', () => {
  it('hashes keys onto slots as Redis Cluster does, hash tags included', () => {
    // Values from the Redis Cluster specification and `CLUSTER KEYSLOT`.
    expect(keySlot('123456789')).toBe(0x31c3);
    expect(keySlot('foo')).toBe(12182);
    expect(keySlot('somekey')).toBe(11058);
    expect(keySlot('{foo}:order-placement:wait')).toBe(12182);
    // An empty first tag hashes the whole key.
    expect(keySlot('foo{}{bar}')).not.toBe(keySlot('bar'));
  });

  it('keeps one shard exactly the deployment of before: {QUEUE_PREFIX}', () => {
    expect(shardPrefixes('orderworks', 1)).toEqual(['{orderworks}']);
    expect(shardOf('0b9c6a1e-2f4e-4a53-9a57-4f1a8b3c2d10', 1)).toBe(0);
  });

  it('gives N shards tags in N different slot ranges, shard 0 keeping the prefix, the same every time', () => {
    for (const prefix of ['orderworks', 'ow-test-1', 'shop.eu', 'x']) {
      const tags = shardTags(prefix, 3);
      expect(tags[0]).toBe(prefix);
      expect(new Set(tags.map((t) => third(keySlot(t)))).size).toBe(3);
      expect(shardTags(prefix, 3)).toEqual(tags);
      const six = shardTags(prefix, 6);
      expect(new Set(six.map((t) => Math.floor((keySlot(t) * 6) / SLOTS))).size).toBe(6);
      // Six shards on three masters: two each.
      expect([0, 1, 2].map((m) => six.filter((t) => third(keySlot(t)) === m).length)).toEqual([2, 2, 2]);
    }
  });

  it('puts a key on the same shard every time, spreading keys over all of them; no key at all is shard 0', () => {
    const ids = Array.from({ length: 3_000 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);
    const counts = [0, 0, 0];
    for (const id of ids) counts[shardOf(id, 3)]!++;
    for (const n of counts) expect(n).toBeGreaterThan(800);
    expect(ids.map((id) => shardOf(id, 3))).toEqual(ids.map((id) => shardOf(id, 3)));
    expect(shardOf(null, 3)).toBe(0);
  });
});

describe('queueShards', () => {
  // Stand-ins for BullMQ queues: routing only reads their names.
  const fake = (shard: number) => Object.fromEntries(QUEUE_NAMES.map((name) => [name, { name, shard } as unknown as Queue])) as unknown as Queues;
  const shards = queueShards([fake(0), fake(1), fake(2)]);
  const shardOfQueue = (q: Queue) => (q as unknown as { shard: number }).shard;

  it("routes an order's jobs, its webhooks included, to the order's shard, and schedulers to shard 0", () => {
    for (let i = 0; i < 50; i++) {
      const orderId = `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
      const shard = shardOf(orderId, 3);
      expect(shardOfQueue(shards.of(orderPlacementJob, { v: 1, orderId }))).toBe(shard);
      expect(shardOfQueue(shards.of(paymentCaptureJob, { v: 1, kind: 'abandon', orderId, reason: 'payment_timeout' }))).toBe(shard);
      expect(shardOfQueue(shards.of(webhookDeliveryJob, { v: 1, kind: 'deliver', orderId, seq: i + 1 }))).toBe(shard);
      expect(shardOfQueue(shards.of(webhookDeliveryJob, { v: 1, kind: 'redeliver', orderId, eventId: orderId, requestId: orderId }))).toBe(shard);
    }
    expect(shardOfQueue(shards.of(maintenanceJob, { v: 1, task: 'repair-sweep' }))).toBe(0);
    expect(shardOfQueue(shards.of(trackingPollJob, { v: 1, kind: 'fan-out' }))).toBe(0);
  });

  it('lists every queue of shard 0 and only the sharded ones of the others', () => {
    const listed = shards.list().map(({ shard, queue }) => `${shard}:${queue.name}`);
    expect(listed).toContain('0:maintenance');
    expect(listed).not.toContain('1:maintenance');
    expect(listed).toContain('2:webhook-delivery');
    expect(listed).toHaveLength(QUEUE_NAMES.length + 2 * (QUEUE_NAMES.length - 1));
  });
});
