import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createShop, orderBody, waitForAll, waitForStatus } from '../support/client.js';
import { startSystem, type TestSystem } from '../support/system.js';
import { exited, serving, spawnWorker } from '../support/processes.js';
import { startRedisCluster } from '../support/redis-cluster.js';

let cluster: Awaited<ReturnType<typeof startRedisCluster>>;
let sys: TestSystem;

beforeAll(async () => {
  cluster = await startRedisCluster();
  sys = await startSystem({ workers: false, env: { REDIS_URL: '', REDIS_CLUSTER_NODES: cluster.nodes.join(','), TRACKING_REFRESH_EVERY_MS: '300' } });
});
afterAll(async () => {
  await sys?.close();
  await cluster?.stop();
});

describe('on a three-master Redis Cluster', () => {
  it('runs orders through placement, payment and tracking with two worker processes', async () => {
    const workers = [spawnWorker(sys.env), spawnWorker(sys.env)];
    try {
      // The orders go in once both workers run, so the waits below measure the pipeline, not how long a busy
      // machine takes to start two processes.
      await serving(sys.web.queues['order-placement'], 2, workers);
      const shop = await createShop(sys.base);
      await shop.call('PUT', '/v1/products/C', { name: 'C', priceMinor: 500, currency: 'CNY', stock: 30 });
      const accepted = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          shop.call('POST', '/v1/orders', orderBody([{ sku: 'C', quantity: 1 }], { payment: { method: ['alipay', 'card'][i % 2], token: 'tok_ok' } }), { 'idempotency-key': `c-${i}` }),
        ),
      );
      const finals = await waitForAll(shop.call, accepted.map((r) => r.json.id), ['paid', 'rejected'], 30_000);
      expect(finals.filter((o) => o.status === 'paid')).toHaveLength(30);
      expect(finals.filter((o) => o.statusReason === 'out_of_stock')).toHaveLength(10);
      const shipped = finals.find((o) => o.status === 'paid');
      await shop.call('POST', `/v1/orders/${shipped.id}/shipments`, { carrier: 'sandbox', trackingNumber: 'SBX-CL-1' });
      expect((await waitForStatus(shop.call, shipped.id, ['delivered'], 20_000)).shipments[0].status).toBe('delivered');
      // Every key of the deployment lives on the one node that owns its hash tag's slot.
      const keysPerNode = cluster.nodes.map((n) =>
        execFileSync('redis-cli', ['-p', n.split(':')[1]!, '--scan', '--pattern', `{${sys.env.QUEUE_PREFIX}}*`], { encoding: 'utf8' }).split('\n').filter(Boolean).length,
      );
      expect(keysPerNode.filter((n) => n > 0)).toHaveLength(1);
      expect(Math.max(...keysPerNode)).toBeGreaterThan(10);
    } finally {
      for (const w of workers) w.kill('SIGTERM');
      const codes = await Promise.all(workers.map(exited));
      expect(codes).toEqual([{ code: 0, signal: null }, { code: 0, signal: null }]);
    }
  });
});
