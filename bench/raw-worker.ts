import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';

/**
 * The naive one-step worker the pipeline is held against, run as a process of its own like `worker`:
 * one Postgres transaction per job (a conditional stock decrement and an insert), plain `pg`, no framework.
 * Prints "ready" once it consumes; stops cleanly on SIGTERM.
 */
const env = (name: string) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is required`);
  return v;
};

const concurrency = Number(env('RAW_CONCURRENCY'));
const pool = new pg.Pool({ connectionString: env('RAW_DATABASE_URL'), max: concurrency });
const connection = new Redis(env('RAW_REDIS_URL'), { maxRetriesPerRequest: null });

const worker = new Worker(
  env('RAW_QUEUE'),
  async (job) => {
    const { orderId, skuId } = job.data as { orderId: string; skuId: number };
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const taken = await client.query('UPDATE bench_stock SET stock = stock - 1 WHERE id = $1 AND stock > 0 RETURNING id', [skuId]);
      await client.query('INSERT INTO bench_orders (id, sku_id, placed) VALUES ($1, $2, $3)', [orderId, skuId, taken.rowCount === 1]);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  },
  { connection, prefix: env('RAW_PREFIX'), concurrency },
);
worker.on('error', (err) => process.stderr.write(`raw worker: ${err.message}\n`));
await worker.waitUntilReady();
process.stdout.write('ready\n');

process.once('SIGTERM', async () => {
  await worker.close();
  await pool.end();
  connection.disconnect();
  process.exit(0);
});
