import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase } from '../../src/db/database.js';
import { keySlot, shardOf, shardTags } from '../../src/queue/shards.js';
import { client, orderBody, waitForAll } from '../support/client.js';
import { exited, serving, sleep, spawnWorker } from '../support/processes.js';
import { startRedisCluster, type RedisCluster } from '../support/redis-cluster.js';
import { ADMIN, startSystem, type TestSystem } from '../support/system.js';
import { startSink } from '../support/webhook-sink.js';

const SHARDS = 3;
const WAVE = 30;

let cluster: RedisCluster;
let sys: TestSystem;
let sink: Awaited<ReturnType<typeof startSink>>;

beforeAll(async () => {
  sink = await startSink();
  cluster = await startRedisCluster({ replicas: 1 });
  sys = await startSystem({
    workers: false,
    env: {
      REDIS_URL: '', REDIS_CLUSTER_NODES: cluster.nodes.join(','), QUEUE_SHARDS: String(SHARDS),
      TRACKING_REFRESH_EVERY_MS: '300', WEBHOOK_ALLOW_PRIVATE_NETWORKS: '1',
    },
  });
});
afterAll(async () => {
  await sys?.close();
  await cluster?.stop();
  sink?.close();
});

/** How many of the deployment's keys under `{tag}` the node on `port` holds. */
const keysOn = (port: number, tag: string) => cluster.cli(port, '--scan', '--pattern', `{${tag}}*`).split('\n').filter(Boolean).length;

/** Waits until `done()` holds, failing only once the sink has received nothing new for `quietMs`. */
async function untilSinkSettles(done: () => boolean, what: () => string, quietMs = 20_000) {
  let seen = -1;
  let movedAt = Date.now();
  while (!done()) {
    if (sink.hits.length !== seen) [seen, movedAt] = [sink.hits.length, Date.now()];
    if (Date.now() - movedAt > quietMs) throw new Error(`webhooks stopped arriving for ${quietMs} ms: ${what()}`);
    await sleep(100);
  }
}

/** The admin order lookup finds each order's jobs on its shard; the board lists every shard; /metrics sums them. */
async function operatorsSeeEveryShard(paidOrders: string[]) {
  const ops = client(sys.base, { basic: ADMIN });
  for (const id of paidOrders) {
    const jobs = (await ops('GET', `/v1/admin/orders/${id}`)).json.jobs as Array<{ queue: string; id: string; state: string }>;
    expect(jobs).toContainEqual(expect.objectContaining({ queue: 'order-placement', id: `place-${id}`, state: 'completed' }));
    // Charged by the placement job itself (captureAfterPlacement): a capture job only for an order it handed over, on the same shard.
    for (const j of jobs.filter((x) => x.queue === 'payment-capture')) expect(j).toMatchObject({ id: `capture-${id}`, state: 'completed' });
  }
  const names = ((await ops('GET', '/admin/queues/api/queues')).json.queues as Array<{ name: string }>).map((q) => q.name);
  expect(names).toEqual(expect.arrayContaining(['order-placement', 'shard-1.order-placement', 'shard-2.webhook-delivery', 'maintenance']));
  expect(names).not.toContain('shard-1.maintenance');
  const text = (await ops('GET', '/metrics')).text;
  const completed = Number(/^orderworks_queue_jobs\{queue="order-placement",state="completed"\} (\d+)$/m.exec(text)?.[1]);
  expect(completed).toBeGreaterThanOrEqual(paidOrders.length);
}

describe('queues spread over a three-master Redis Cluster (QUEUE_SHARDS=3)', () => {
  it('puts each shard on its own master and loses nothing when one master fails over to its replica mid-run', async () => {
    const tags = shardTags(sys.env.QUEUE_PREFIX!, SHARDS);
    const masters = tags.map((t) => cluster.ownerOf(keySlot(t))!);
    // The tags are picked so that three shards sit on three masters (src/queue/shards.ts); Redis agrees on the slots.
    expect(new Set(masters).size).toBe(3);
    for (const t of tags) expect(Number(cluster.cli(masters[0]!, 'cluster', 'keyslot', `{${t}}:order-placement:wait`))).toBe(keySlot(t));

    // One worker serves every shard, the other only shards 1 and 2 (WORKER_SHARDS).
    const env = { ...sys.env, LOG_LEVEL: 'warn', LOG_FORMAT: 'json' };
    const workers = [spawnWorker(env), spawnWorker({ ...env, WORKER_SHARDS: '1,2' })];
    try {
      await serving(sys.web.shards.all[0]!['order-placement'], 1, workers);
      for (const shard of [1, 2]) await serving(sys.web.shards.all[shard]!['order-placement'], 2, workers);
      const hook = await client(sys.base, { basic: ADMIN })('POST', '/v1/admin/shops', { name: 'Sharded', webhookUrl: sink.url });
      expect(hook.status).toBe(201);
      const shop = client(sys.base, { bearer: hook.json.apiKey });
      await shop('PUT', '/v1/products/S', { name: 'S', priceMinor: 500, currency: 'CNY', stock: 1_000 });
      const place = async (wave: number) => {
        const replies = await Promise.all(Array.from({ length: WAVE }, (_, i) =>
          shop('POST', '/v1/orders', orderBody([{ sku: 'S', quantity: 1 }], { payment: { method: ['alipay', 'card'][i % 2], token: 'tok_ok' } }), { 'idempotency-key': `w${wave}-${i}` })));
        for (const r of replies) expect(r.status, r.text).toBe(202);
        return replies.map((r) => (r.json as { id: string }).id);
      };

      const first = await place(1);
      await waitForAll(shop, first, ['paid']);
      // Every master holds its shard's jobs, and only its own.
      const spread = tags.map((t, shard) => ({ shard, tag: t, master: masters[shard], keys: masters.map((m) => keysOn(m!, t)) }));
      console.log('shards on masters', JSON.stringify(spread));
      spread.forEach(({ keys }, shard) => keys.forEach((n, m) => (m === shard ? expect(n).toBeGreaterThan(0) : expect(n).toBe(0))));
      await operatorsSeeEveryShard(first);

      // A second wave goes in and, while its jobs run, shard 1's master is killed; a third wave is accepted while
      // that shard has no master (its jobs are not queued: the reconciler starts them once the replica took over).
      const second = await place(2);
      const victim = masters[1]!;
      const victimId = cluster.clusterNodes().find((n) => n.port === victim)!.id;
      const replica = cluster.clusterNodes().find((n) => n.masterId === victimId)!.port;
      const killedAt = Date.now();
      await cluster.kill(victim);
      const third = await place(3);
      for (let i = 0; cluster.ownerOf(keySlot(tags[1]!)) !== replica; i++) {
        if (i > 600) throw new Error('the replica did not take over');
        await sleep(50);
      }
      const tookOverMs = Date.now() - killedAt;
      const ids = [...first, ...second, ...third];
      const paid = await waitForAll(shop, ids, ['paid']);
      const allPaidMs = Date.now() - killedAt;
      expect(paid).toHaveLength(3 * WAVE);

      for (const [i, id] of ids.entries()) {
        const r = await shop('POST', `/v1/orders/${id}/shipments`, { carrier: 'sandbox', trackingNumber: `SBX-SH-${i}` });
        expect(r.status, r.text).toBe(201);
      }
      await waitForAll(shop, ids, ['shipped', 'delivered']);
      expect(keysOn(replica, tags[1]!)).toBeGreaterThan(0);

      // Per-order webhook order: the shop receives each order's events by rising seq (a resend repeats the last).
      const db = createDatabase(sys.env.DATABASE_URL!, { poolMax: 1 });
      try {
        const want = ['order.placed', 'order.paid', 'order.shipped'];
        const arrived = () => {
          const byOrder = new Map<string, string[]>();
          for (const h of sink.hits) {
            const body = JSON.parse(h.body) as { id: string; type: string; data: { order: { id: string } } };
            byOrder.set(body.data.order.id, [...(byOrder.get(body.data.order.id) ?? []), body.id]);
          }
          return byOrder;
        };
        const types = () => new Set(sink.hits.map((h) => { const b = JSON.parse(h.body); return `${b.data.order.id} ${b.type}`; }));
        await untilSinkSettles(
          () => ids.every((id) => want.every((t) => types().has(`${id} ${t}`))),
          () => {
            const missing = ids.flatMap((id) => want.filter((t) => !types().has(`${id} ${t}`)).map((t) => `${t}@shard${shardOf(id, SHARDS)}`));
            return `${missing.length} events missing (${JSON.stringify(Object.fromEntries([...new Set(missing)].map((m) => [m, missing.filter((x) => x === m).length])))})`;
          },
        );
        const seqs = new Map((await db.rows<{ id: string; seq: number }>('SELECT id, seq FROM order_events WHERE shop_id = $1', [hook.json.id])).map((r) => [r.id, Number(r.seq)]));
        for (const [orderId, events] of arrived()) {
          const order = events.map((e) => seqs.get(e)!);
          expect(order.every((s, i) => i === 0 || s >= order[i - 1]!), `${orderId}: ${order.join(',')}`).toBe(true);
        }
        console.log('failover', JSON.stringify({ victim, replica, tookOverMs, allPaidMs, webhooks: sink.hits.length, resent: sink.hits.length - new Set(sink.hits.map((h) => JSON.parse(h.body).id)).size, watchdogReplacements: workers.map((w) => w.output.join('').split('replaced it').length - 1) }));
      } finally {
        await db.close();
      }
    } catch (err) {
      console.log('FAILED', err);
      for (const { shard, queue } of sys.web.shards.list()) {
        console.log('QUEUE', shard, queue.name, JSON.stringify(await queue.getJobCounts()), 'workers', await queue.getWorkersCount().catch(() => -1));
      }
      for (const [i, w] of workers.entries()) console.log(`WORKER ${i}`, w.output.join('').slice(-6_000));
      throw err;
    } finally {
      for (const w of workers) w.kill('SIGTERM');
      const codes = await Promise.all(workers.map(exited));
      for (const [i, c] of codes.entries()) if (c.code !== 0) console.log(`worker ${i} exited ${c.code}:`, workers[i]!.output.join('').slice(-3_000));
      expect(codes).toEqual([{ code: 0, signal: null }, { code: 0, signal: null }]);
    }
  });
});
