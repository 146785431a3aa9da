import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client, createShop, orderBody, waitForAll } from '../support/client.js';
import { startSystem, type TestSystem } from '../support/system.js';
import { exited, ready, serving, sleep, spawnWeb, spawnWorker } from '../support/processes.js';
import { freePort } from '../../src/local/local-services.js';

let sys: TestSystem;
beforeAll(async () => {
  // Only the database and queues of this system are used: its own workers stay off.
  sys = await startSystem({ workers: false });
});
afterAll(() => sys?.close());

describe('graceful shutdown', () => {
  it('SIGTERM during load: web and worker exit 0 in time, no job stalled, no accepted order lost', async () => {
    const port = await freePort();
    const env = { ...sys.env, PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}` };
    const base = `http://127.0.0.1:${port}`;
    const web = spawnWeb(env);
    const worker = spawnWorker({ ...env, WORKER_CONCURRENCY: '8' });
    await ready(base, web);
    await serving(sys.web.queues['order-placement'], 1, [worker]);
    const shop = await createShop(base);
    await shop.call('PUT', '/v1/products/G', { name: 'G', priceMinor: 100, currency: 'CNY', stock: 100_000 });

    const accepted: string[] = [];
    let refused = 0;
    let stop = false;
    const load = (async () => {
      for (let i = 0; !stop; i++) {
        try {
          const r = await shop.call('POST', '/v1/orders', orderBody([{ sku: 'G', quantity: 1 }]), { 'idempotency-key': `g-${i}` });
          if (r.status === 202) accepted.push(r.json.id);
          else refused++;
        } catch {
          refused++; // the web process stopped listening: a client would retry elsewhere
        }
      }
    })();
    while (accepted.length < 60) await sleep(20);
    const t0 = Date.now();
    web.kill('SIGTERM');
    worker.kill('SIGTERM');
    const [webExit, workerExit] = await Promise.all([exited(web), exited(worker)]);
    const stoppedInMs = Date.now() - t0;
    stop = true;
    await load;
    if (webExit.code !== 0) console.error(web.output.join('').slice(-3000));
    if (workerExit.code !== 0) console.error(worker.output.join('').slice(-3000));
    expect(webExit).toEqual({ code: 0, signal: null });
    expect(workerExit).toEqual({ code: 0, signal: null });
    expect(stoppedInMs).toBeLessThan(15_000);
    // Nothing was left active (stalled) by the clean stop.
    for (const q of Object.values(sys.web.queues)) expect(await q.getActiveCount(), q.name).toBe(0);

    // Every order answered 202 is there and completes once workers are back.
    const again = spawnWorker(env);
    const web2 = spawnWeb(env);
    try {
      await ready(base, web2);
      await serving(sys.web.queues['order-placement'], 1, [again]);
      const view = client(base, { bearer: shop.apiKey });
      expect((await waitForAll(view, accepted, ['paid'], 30_000)).map((o) => o.status)).toEqual(accepted.map(() => 'paid'));
    } finally {
      again.kill('SIGTERM');
      web2.kill('SIGTERM');
      await Promise.all([exited(again), exited(web2)]);
    }
    expect(accepted.length).toBeGreaterThanOrEqual(60);
    expect(refused).toBeGreaterThanOrEqual(0);
  });
});
