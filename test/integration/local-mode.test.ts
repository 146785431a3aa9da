import { statSync, readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { userInfo } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client, orderBody, waitForStatus } from '../support/client.js';
import { exitOf, interrupt, privateCopy, processesIn, removeCopy, startIn, type Started } from '../support/local-start.js';
import { freePort } from '../../src/local/local-services.js';

/*
 * `npm start` in local mode, as a newcomer runs it: from a folder nobody else may enter (root's home, as in
 * a container), with neither DATABASE_URL nor REDIS_URL, so it runs Redis and the embedded Postgres itself.
 * CI runs as root, the case that used to fail; run as a normal user, this covers that path instead.
 *
 * The limits are generous because they bound work, not speed: the first start creates a Postgres cluster
 * (initdb writes and syncs ~40 MB) and compiles the sources, on two cores other test files share.
 */
const FIRST_START_MS = 240_000;
const START_MS = 120_000;
const STOP_MS = 90_000;

const root = userInfo().uid === 0;
let dir: string;
let dataDir: string;
const running: Started[] = [];

beforeAll(() => {
  dir = privateCopy();
  dataDir = path.join(dir, '.data');
}, 120_000);

afterAll(async () => {
  for (const child of running) if (child.exitCode === null && child.signalCode === null) interrupt(child);
  await Promise.all(running.map((c) => exitOf(c, STOP_MS).catch(() => c.kill('SIGKILL'))));
  if (dir) removeCopy(dir);
}, STOP_MS + 30_000);

/** Redis and Postgres processes of this checkout's data folder (Postgres's may live outside it, see below). */
function services(): Array<{ pid: number; name: string }> {
  return processesIn(dataDir, ...(clusterDir() ? [clusterDir()!] : [])).filter((p) => /redis|postgres/.test(p.name));
}

/** Redis and the Postgres server (not its per-connection processes), as the start recorded them in its lock file. */
function recordedServices(): Array<{ pid: number; name: string }> {
  const { children } = JSON.parse(readFileSync(path.join(dataDir, 'orderworks.pid'), 'utf8')) as { children: Array<{ pid: number }> };
  return services().filter((p) => children.some((c) => c.pid === p.pid));
}

/** Running: not gone, and not exited but unreaped (a zombie). */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

function clusterDir(): string | undefined {
  try {
    return (JSON.parse(readFileSync(path.join(dataDir, 'postgres.json'), 'utf8')) as { dataDir: string }).dataDir;
  } catch {
    return undefined;
  }
}

async function untilReady(child: Started, base: string, withinMs: number): Promise<void> {
  for (const t0 = Date.now(); Date.now() - t0 < withinMs; ) {
    if (child.exitCode !== null) throw new Error(`start exited with ${child.exitCode}: ${child.stderr_}${child.stdout_.slice(-2000)}`);
    try {
      if ((await fetch(`${base}/readyz`)).status === 200) return;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`not ready within ${withinMs} ms: ${child.stderr_}${child.stdout_.slice(-2000)}`);
}

/** After the banner, only structured log lines, none at error level or worse, ending with a clean stop. */
function quietStop(stdout: string): boolean {
  const after = stdout.slice(stdout.indexOf('Stop with Ctrl-C.') + 'Stop with Ctrl-C.'.length).split('\n').filter(Boolean);
  const entries = after.map((line) => {
    try {
      return JSON.parse(line) as { level: number; msg: string };
    } catch {
      return { level: 100, msg: line }; // a raw line: a stack trace, say
    }
  });
  const loud = entries.filter((e) => e.level >= 50);
  if (loud.length) console.error(loud);
  return loud.length === 0 && entries.at(-1)?.msg === 'stopped cleanly';
}

/** Starts, expecting failure: what it printed and whether it left anything running. */
async function failingStart(env: Record<string, string>): Promise<{ code: number | null; stderr: string; stdout: string }> {
  const child = startIn(dir, env);
  running.push(child);
  const { code } = await exitOf(child, START_MS);
  return { code, stderr: child.stderr_, stdout: child.stdout_ };
}

describe('npm start, a failing start', () => {
  it('stops at a bad setting with one line naming it, before any service starts', async () => {
    for (const [env, variable] of [
      [{ PORT: 'abc' }, 'PORT'],
      [{ DATABASE_URL: 'nonsense' }, 'DATABASE_URL'],
      [{ TRACKING_REFRESH_EVERY_MS: '-5' }, 'TRACKING_REFRESH_EVERY_MS'],
    ] as const) {
      const out = await failingStart(env);
      expect(out.code).toBe(1);
      expect(out.stderr).toMatch(new RegExp(`^orderworks: invalid configuration: ${variable}: .+\\n$`));
      expect(out.stdout).toBe('');
      expect(services()).toEqual([]);
      expect(existsSync(path.join(dataDir, 'redis')), 'no Redis data folder: Redis never started').toBe(false);
    }
  });

  it('says the port is taken, and starts nothing', async () => {
    const { createServer } = await import('node:net');
    const taken = createServer().listen(0);
    await new Promise((r) => taken.once('listening', r));
    const port = (taken.address() as { port: number }).port;
    try {
      const out = await failingStart({ PORT: String(port) });
      expect(out.code).toBe(1);
      expect(out.stderr).toBe(`orderworks: port ${port} is already in use (another orderworks, or another program): stop it, or choose another port with PORT=...\n`);
      expect(services()).toEqual([]);
    } finally {
      taken.close();
    }
  });

  it('stops the Redis it started when a later step fails (a Postgres that does not answer)', async () => {
    const before = services();
    const out = await failingStart({ PORT: String(await freePort()), DATABASE_URL: `postgres://nobody@127.0.0.1:${await freePort()}/none` });
    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(/^orderworks: migrating the database at 127\.0\.0\.1:\d+: .+\n$/);
    expect(existsSync(path.join(dataDir, 'redis')), 'Redis did start this time').toBe(true);
    expect(services()).toEqual(before);
    expect(existsSync(path.join(dataDir, 'orderworks.pid')), 'the instance lock is released').toBe(false);
  });
});

describe(`npm start as ${root ? 'root' : 'a normal user'} from a 0700 folder, in local mode`, () => {
  it('the folder is one others cannot enter', () => {
    expect(statSync(dir).mode & 0o077).toBe(0);
  });

  it('starts, stops quietly on Ctrl-C, starts again with its data, takes an order; after a kill, the next start stops what was left', async () => {
    // First start: creates the cluster. Then a plain Ctrl-C.
    let port = await freePort();
    const first = startIn(dir, { PORT: String(port) });
    running.push(first);
    await untilReady(first, `http://127.0.0.1:${port}`, FIRST_START_MS);
    expect(first.stdout_).toContain('orderworks is running');
    if (root) expect(clusterDir()!.startsWith(dir), 'the unprivileged Postgres user cannot enter the folder: its cluster lives outside').toBe(false);
    interrupt(first);
    expect(await exitOf(first, STOP_MS)).toEqual({ code: 0, signal: null });
    expect(first.stderr_).toBe('');
    expect(quietStop(first.stdout_)).toBe(true);
    expect(services()).toEqual([]);

    // Second start, on the data of the first (the run that used to end in a Postgres stack trace).
    port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const second = startIn(dir, { PORT: String(port) });
    running.push(second);
    await untilReady(second, base, START_MS);
    expect(services().map((p) => p.name).sort()).toEqual(expect.arrayContaining([expect.stringMatching(/^redis/), expect.stringMatching(/^postgres/)]));

    // One start per data folder: a second one names the first and starts nothing.
    const redisBefore = services().filter((p) => p.name.startsWith('redis'));
    const again = await failingStart({ PORT: String(await freePort()) });
    expect(again.code).toBe(1);
    expect(again.stderr).toBe(`orderworks: already running in ${dir} (pid ${second.pid}): stop it first (Ctrl-C in its terminal, or kill ${second.pid})\n`);
    expect(services().filter((p) => p.name.startsWith('redis'))).toEqual(redisBefore);

    // An order, end to end, with the credentials local mode printed and kept.
    const admin = JSON.parse(readFileSync(path.join(dataDir, 'admin.json'), 'utf8')) as { user: string; password: string };
    const shop = await client(base, { basic: admin })('POST', '/v1/admin/shops', { name: 'Acme' });
    expect(shop.status).toBe(201);
    const call = client(base, { bearer: shop.json.apiKey });
    expect((await call('PUT', '/v1/products/TEA-001', { name: 'Tea', priceMinor: 1999, currency: 'CNY', stock: 10 })).status).toBe(201);
    const order = await call('POST', '/v1/orders', orderBody([{ sku: 'TEA-001', quantity: 2 }]), { 'idempotency-key': 'local-1' });
    expect(order.status).toBe(202);
    expect((await waitForStatus(call, order.json.id, ['paid'], 60_000)).totalMinor).toBe(3998);

    // Killed outright, it cannot stop its services: they run on until the next start here stops them.
    const left = recordedServices();
    expect(left.map((p) => p.name).sort()).toEqual(['postgres', 'redis-server']);
    process.kill(second.pid!, 'SIGKILL');
    await exitOf(second, STOP_MS);
    expect(left.filter((p) => alive(p.pid))).toEqual(left);

    port = await freePort();
    const third = startIn(dir, { PORT: String(port) });
    running.push(third);
    await untilReady(third, `http://127.0.0.1:${port}`, START_MS);
    expect(left.filter((p) => alive(p.pid)), 'the leftovers were stopped').toEqual([]);
    expect((await client(`http://127.0.0.1:${port}`, { bearer: shop.json.apiKey })('GET', `/v1/orders/${order.json.id}`)).json.status).toBe('paid');

    interrupt(third);
    expect(await exitOf(third, STOP_MS)).toEqual({ code: 0, signal: null });
    expect(third.stderr_).toBe('');
    expect(quietStop(third.stdout_)).toBe(true);
    expect(services()).toEqual([]);
    expect(existsSync(path.join(dataDir, 'orderworks.pid'))).toBe(false);
  }, FIRST_START_MS + 3 * START_MS + 3 * STOP_MS);
});
