/**
 * Where a deployment's queues live on a Redis Cluster. BullMQ's scripts need every key of one queue in one slot,
 * so each shard's queues share one hash tag; QUEUE_SHARDS tags spread a deployment over the cluster's masters.
 * Pure functions only: no Redis here.
 */
import calculateSlot from 'cluster-key-slot';

/** Redis Cluster's slot count. */
export const SLOTS = 16_384;

/**
 * The slot Redis Cluster puts `key` in (CRC16 of its hash tag, or of the whole key without one), by the function
 * ioredis itself routes cluster commands with.
 */
export const keySlot = (key: string): number => calculateSlot(key);

/**
 * The hash tag of each shard. Shard 0 keeps the deployment's own prefix, so one shard is exactly the keys of a
 * deployment from before shards. Shard i takes the first of `prefix-i`, `prefix-i.1`, `prefix-i.2`... whose
 * slot falls in range (r0 + i) mod N of N equal slot ranges, r0 being the range of shard 0's slot: N shards
 * take N different ranges, and so N different masters when each of N masters owns one range, as
 * `redis-cli --cluster create` lays slots out (with N a multiple of the masters, each master gets N / masters).
 * Deterministic: every process of a deployment computes the same tags from QUEUE_PREFIX and QUEUE_SHARDS.
 */
export function shardTags(prefix: string, count: number): string[] {
  const range = (slot: number) => Math.floor((slot * count) / SLOTS);
  const first = range(keySlot(prefix));
  const tags = [prefix];
  for (let shard = 1; shard < count; shard++) {
    const want = (first + shard) % count;
    let tag = `${prefix}-${shard}`;
    for (let n = 1; range(keySlot(tag)) !== want; n++) tag = `${prefix}-${shard}.${n}`;
    tags.push(tag);
  }
  return tags;
}

/** The BullMQ prefix of each shard: its tag in braces, a Redis Cluster hash tag. */
export const shardPrefixes = (prefix: string, count: number) => shardTags(prefix, count).map((t) => `{${t}}`);

/**
 * The shard of a business key (an order id...): stable for as long as QUEUE_SHARDS stays the same, so all of
 * one order's jobs share a shard. `null`: shard 0, where the deployment's one-off jobs (schedulers) live.
 */
export function shardOf(key: string | null, count: number): number {
  return key === null || count === 1 ? 0 : keySlot(key) % count;
}
