import path from 'node:path';
import { Queue } from 'bullmq';
import { hashApiKey } from '../src/domain/shop.service.js';
import { freePort } from '../src/local/local-services.js';
import { bullPrefix } from '../src/queue/redis.js';
import { ROOT, spawnNode, stop, waitForLine, type Child } from './processes.js';
import type { BenchSettings } from './settings.js';
import type { BenchShop } from './shop.js';
import type { BenchSystem } from './system.js';

const NAIVE_QUEUE = 'bench-naive-intake';

/** Starts bench/naive-intake.ts, knowing `shops` by their API keys; `close` stops it and drops its queue. */
export async function spawnNaiveIntake(sys: BenchSystem, settings: BenchSettings, shops: BenchShop[]): Promise<{ base: string; child: Child; close(): Promise<void> }> {
  const port = await freePort();
  const entry = settings.runtime === 'dist' ? [path.join(ROOT, 'dist/bench/naive-intake.js')] : ['--import', 'tsx', path.join(ROOT, 'bench/naive-intake.ts')];
  const child = spawnNode('naive-intake', entry, {
    NAIVE_PORT: String(port), NAIVE_REDIS_URL: sys.env.REDIS_URL!, NAIVE_PREFIX: bullPrefix(sys.prefix), NAIVE_QUEUE,
    NAIVE_SHOPS: shops.map((s) => `${hashApiKey(s.apiKey)}=${s.id}`).join(','),
    NODE_ENV: 'production',
  }, settings);
  const close = async () => {
    await stop(child);
    const queue = new Queue(NAIVE_QUEUE, { connection: sys.redis, prefix: bullPrefix(sys.prefix) });
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
  };
  try {
    await waitForLine(child, 'ready', 60_000);
  } catch (error) {
    await close();
    throw error;
  }
  return { base: `http://127.0.0.1:${port}`, child, close };
}
