import { Queue } from 'bullmq';
import type { z } from 'zod';
import type { RedisClient } from './redis.js';
import type { Config } from '../config.js';
import { JOB_DEFINITIONS, QUEUE_NAMES, type QueueName } from '../../jobs/index.js';
import type { JobDefinition } from '../../jobs/job-definition.js';
import { shardOf, shardPrefixes } from './shards.js';

export type Queues = Readonly<Record<QueueName, Queue>>;

/** The queues that spread over every shard; the others (a job definition without `shardKey`) live on shard 0. */
export const SHARDED_QUEUES: ReadonlySet<QueueName> = new Set(JOB_DEFINITIONS.filter((d) => 'shardKey' in d).map((d) => d.queue));

/** A deployment's queues on all of its shards (QUEUE_SHARDS; one shard is the deployment as it was before shards). */
export interface QueueShards {
  /** Each shard's queues, shard 0 first. A queue that lives on shard 0 alone has an idle twin on the others. */
  readonly all: readonly Queues[];
  /** The queue that holds (or will hold) `def`'s job for this payload: on the shard of its shard key. */
  of<S extends z.ZodType>(def: JobDefinition<S>, payload: z.output<S>): Queue;
  /** Every queue that can hold jobs, with its shard: what the dashboard and the metrics list. */
  list(): Array<{ shard: number; queue: Queue }>;
}

/** Shards over Queue objects made elsewhere (a test's own); `createQueueShards` makes them from the config. */
export function queueShards(all: readonly Queues[]): QueueShards {
  return Object.freeze({
    all: Object.freeze([...all]),
    of<S extends z.ZodType>(def: JobDefinition<S>, payload: z.output<S>): Queue {
      const shard = def.shardKey ? shardOf(def.shardKey(payload), all.length) : 0;
      const queue = all[shard]?.[def.queue as QueueName];
      if (!queue) throw new Error(`no queue "${def.queue}" on shard ${shard}`);
      return queue;
    },
    list() {
      return all.flatMap((queues, shard) =>
        Object.values(queues).filter((q) => shard === 0 || SHARDED_QUEUES.has(q.name as QueueName)).map((queue) => ({ shard, queue })),
      );
    },
  });
}

/** One Queue object per queue and shard for the life of the process, sharing one connection. */
export function createQueueShards(config: Config, connection: RedisClient): QueueShards {
  return queueShards(
    shardPrefixes(config.queuePrefix, config.queueShards).map((prefix) =>
      Object.freeze(Object.fromEntries(QUEUE_NAMES.map((name) => [name, new Queue(name, { connection, prefix })]))) as Queues,
    ),
  );
}

export async function closeQueues(shards: QueueShards): Promise<void> {
  await Promise.all(shards.all.flatMap((queues) => Object.values(queues).map((q) => q.close())));
}
