import { Queue } from 'bullmq';
import type { RedisClient } from './redis.js';
import type { Config } from '../config.js';
import { QUEUE_NAMES, type QueueName } from '../../jobs/index.js';
import { bullPrefix } from './redis.js';

export type Queues = Readonly<Record<QueueName, Queue>>;

/** One Queue object per queue for the life of the process, sharing one connection. */
export function createQueues(config: Config, connection: RedisClient): Queues {
  const entries = QUEUE_NAMES.map((name) => [name, new Queue(name, { connection, prefix: bullPrefix(config.queuePrefix) })]);
  return Object.freeze(Object.fromEntries(entries)) as Queues;
}

export async function closeQueues(queues: Queues): Promise<void> {
  await Promise.all(Object.values(queues).map((q) => q.close()));
}
