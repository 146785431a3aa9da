import { createDatabase, type Database } from '../../src/db/database.js';
import { boxShop, type Client } from './client.js';
import { kuaidi100PushEnv, startKuaidi100Fake } from './kuaidi100-fake.js';
import { startSystem, type TestSystem } from './system.js';
import { startSink } from './webhook-sink.js';
import { sleep } from './processes.js';

export interface PushedSystem {
  sys: TestSystem;
  /** A small pool of its own, for reading and nudging rows. */
  db: Database;
  /** A shop selling BOX, its webhooks to `sink`. */
  shop: Client;
  fake: Awaited<ReturnType<typeof startKuaidi100Fake>>;
  sink: Awaited<ReturnType<typeof startSink>>;
  close(): Promise<void>;
}

/**
 * A system whose Kuaidi100 account is a local fake with push on (signed with `salt`), refreshing parcels every
 * 300 ms, with a shop selling BOX whose webhooks go to a sink. `number` is recognised as a YTO waybill.
 */
export async function startPushedSystem(shopName: string, salt: string, number: string, env: Record<string, string> = {}): Promise<PushedSystem> {
  const fake = await startKuaidi100Fake();
  fake.coms.set(number, 'yuantong');
  const sink = await startSink();
  const sys = await startSystem({ env: { TRACKING_REFRESH_EVERY_MS: '300', WEBHOOK_ALLOW_PRIVATE_NETWORKS: '1', ...kuaidi100PushEnv(fake.url, salt), ...env } });
  const shop = await boxShop(sys.base, shopName, sink.url);
  const db = createDatabase(sys.config.databaseUrl, { poolMax: 2 });
  return {
    sys, db, shop, fake, sink,
    async close() {
      await db.close();
      await sys.close();
      sink.close();
      fake.close();
    },
  };
}

/** Reads `read` every 100 ms until `ok` holds; past `ms` (a generous bound for what the worker does), it fails saying what was seen. */
export async function until<T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, ms = 20_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    if (Date.now() - t0 > ms) throw new Error(`${what}: still ${JSON.stringify(v)}`);
    await sleep(100);
  }
}
