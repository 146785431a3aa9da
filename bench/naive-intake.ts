import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import express from 'express';
import { Redis } from 'ioredis';
import { RETENTION } from '../jobs/job-definition.js';
import { idempotencyKeySchema, orderInputSchema } from '../src/domain/order-input.js';
import { hashApiKey } from '../src/domain/shop.service.js';

/**
 * The fair intake baseline of issue 15: `POST /v1/orders` written the obvious way with the same stack, run as a
 * process of its own like `web`. Express with `express.json()`, the same zod validation of the body and of the
 * Idempotency-Key, the shop found by its API key's hash in a table held in memory (the shops are given at start:
 * orderworks' web process caches verified keys the same way, so neither asks Postgres per request), and one
 * `Queue.add` per order with the same retention options. No Postgres: an accepted order lives only in Redis.
 * Prints "ready" once it listens; stops on SIGTERM.
 */
const env = (name: string) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is required`);
  return v;
};

// "<hash>=<shop id>,..."
const shops = new Map(env('NAIVE_SHOPS').split(',').map((pair) => pair.split('=') as [string, string]));
const connection = new Redis(env('NAIVE_REDIS_URL'), { maxRetriesPerRequest: null });
const queue = new Queue(env('NAIVE_QUEUE'), { connection, prefix: env('NAIVE_PREFIX') });

const app = express();
app.use(express.json({ limit: '1mb' }));
app.post('/v1/orders', async (req, res) => {
  const bearer = /^Bearer (\S+)$/.exec(req.get('authorization') ?? '')?.[1];
  const shopId = bearer ? shops.get(hashApiKey(bearer)) : undefined;
  if (!shopId) return void res.status(401).json({ error: 'a valid API key is required' });
  const key = idempotencyKeySchema.safeParse(req.get('idempotency-key'));
  const body = orderInputSchema.safeParse(req.body);
  if (!key.success || !body.success) {
    return void res.status(400).json({ error: 'the order is invalid', issues: [...(key.error?.issues ?? []), ...(body.error?.issues ?? [])] });
  }
  const id = randomUUID();
  await queue.add('place', { v: 1, orderId: id, shopId, idempotencyKey: key.data, order: body.data }, RETENTION);
  res.status(202).location(`/v1/orders/${id}`).json({ id, status: 'received', ...body.data });
});

const server = app.listen(Number(env('NAIVE_PORT')), () => process.stdout.write('ready\n'));
server.keepAliveTimeout = 65_000;

process.once('SIGTERM', () => {
  server.close(async () => {
    await queue.close();
    connection.disconnect();
    process.exit(0);
  });
  server.closeAllConnections();
});
