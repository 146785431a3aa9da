import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SandboxCarrier } from '../../src/carriers/sandbox.carrier.js';
import { DomainError } from '../../src/domain/errors.js';
import { sandboxCarrierRouter } from '../../src/sandbox/carrier/sandbox-carrier.router.js';
import { createTestDatabase } from '../support/db.js';

/** Two web processes' worth of sandbox on one database: state must live in Postgres, not in either. */
let testDb: Awaited<ReturnType<typeof createTestDatabase>>;
const servers: Server[] = [];
let urlA: string;
let urlB: string;

async function startWeb(): Promise<string> {
  const app = express();
  app.use('/sandbox', sandboxCarrierRouter({ db: testDb.db }));
  const server = createServer(app);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/sandbox`;
}

beforeAll(async () => {
  testDb = await createTestDatabase();
  urlA = await startWeb();
  urlB = await startWeb();
});
afterAll(async () => {
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
  await testDb?.drop();
});

const carrier = (baseUrl = urlA, timeoutMs = 2_000) => new SandboxCarrier({ baseUrl, timeoutMs, serviceLevelHours: 1 });
const fault = (mode: string, forMs?: number) =>
  fetch(`${urlA}/carrier/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ mode, forMs }) });

async function failure(p: Promise<unknown>) {
  const e = await p.then(() => null, (err: unknown) => err);
  expect(e).toBeInstanceOf(DomainError);
  const d = e as DomainError;
  return { name: d.name, code: d.code, retryAfterSeconds: d.options.retryAfterSeconds };
}

describe('sandbox carrier', () => {
  it('moves SBX-1 one step per query to delivered, then leaves it alone', async () => {
    const c = carrier();
    const seen = [];
    for (let i = 0; i < 6; i++) seen.push(await c.track({ trackingNumber: 'SBX-1' }));
    expect(seen.map((s) => s.status)).toEqual(['info_received', 'in_transit', 'out_for_delivery', 'delivered', 'delivered', 'delivered']);
    expect(seen.map((s) => s.events.length)).toEqual([1, 2, 3, 4, 4, 4]);
    const final = seen.at(-1)!;
    expect(final.events).toEqual(seen[3]!.events);
    expect(final.events.map((e) => e.status)).toEqual(['info_received', 'in_transit', 'out_for_delivery', 'delivered']);
    for (const e of final.events) expect(e).toMatchObject({ description: expect.any(String), location: expect.any(String), at: expect.any(Date) });
    const times = final.events.map((e) => e.at.getTime());
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(final.estimatedDeliveryAt).toBeNull();
  });

  it('ends an SBX-LOST- parcel in exception after in_transit', async () => {
    const c = carrier();
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await c.track({ trackingNumber: 'SBX-LOST-1' })).status);
    expect(statuses).toEqual(['info_received', 'in_transit', 'exception', 'exception', 'exception']);
  });

  it('scripts a failed attempt, a return and a late parcel', async () => {
    const c = carrier();
    const run = async (trackingNumber: string, n: number) => {
      const seen = [];
      for (let i = 0; i < n; i++) seen.push(await c.track({ trackingNumber }));
      return seen;
    };
    expect((await run('SBX-RETRY-1', 7)).map((s) => s.status)).toEqual([
      'info_received', 'in_transit', 'out_for_delivery', 'failed_attempt', 'out_for_delivery', 'delivered', 'delivered',
    ]);
    expect((await run('SBX-RETURN-1', 6)).map((s) => s.status)).toEqual([
      'info_received', 'in_transit', 'out_for_delivery', 'failed_attempt', 'returned_to_sender', 'returned_to_sender',
    ]);
    const late = await run('SBX-LATE-1', 4);
    expect(late.map((s) => s.status)).toEqual(['info_received', 'in_transit', 'in_transit', 'in_transit']);
    expect(late[0]!.estimatedDeliveryAt).toBeNull();
    const [first, pickup] = late[3]!.events.map((e) => e.at.getTime());
    expect(late[3]!.estimatedDeliveryAt).toEqual(new Date(pickup! + 2 * Math.max(pickup! - first!, 1)));
    expect(late[1]!.estimatedDeliveryAt).toEqual(late[3]!.estimatedDeliveryAt);
  });

  it("gives its own estimate for SBX-ETA- parcels only", async () => {
    const snap = await carrier().track({ trackingNumber: 'SBX-ETA-1' });
    expect(snap.estimatedDeliveryAt).toEqual(new Date(snap.events[0]!.at.getTime() + 72 * 3_600_000));
  });

  it('refuses numbers it never issued', async () => {
    for (const trackingNumber of ['1Z999AA10123456784', 'sbx-1', 'SBX-']) {
      expect(await failure(carrier().track({ trackingNumber }))).toMatchObject({ name: 'PermanentError', code: 'carrier_rejected' });
    }
  });

  it('keeps parcels in Postgres: another web process carries on where the first left off', async () => {
    await carrier(urlA).track({ trackingNumber: 'SBX-2' });
    await carrier(urlA).track({ trackingNumber: 'SBX-2' });
    expect((await carrier(urlB).track({ trackingNumber: 'SBX-2' })).status).toBe('out_for_delivery');
    const peek = await fetch(`${urlB}/carrier/parcels/SBX-2`).then((r) => r.json());
    expect(peek).toMatchObject({ status: 'out_for_delivery', estimatedDeliveryAt: null });
    expect(peek.events).toHaveLength(3);
  });

  it('moves a parcel one step per query even when queries race', async () => {
    await Promise.all([urlA, urlB, urlA, urlB].map((u) => carrier(u).track({ trackingNumber: 'SBX-RACE-1' })));
    const snap = await fetch(`${urlA}/carrier/parcels/SBX-RACE-1`).then((r) => r.json());
    expect(snap.events.map((e: { status: string }) => e.status)).toEqual(['info_received', 'in_transit', 'out_for_delivery', 'delivered']);
  });

  describe('fault injection', () => {
    afterEach(async () => void (await fault('none')));

    it('answers 429 with Retry-After while rate_limit lasts: rate_limited, and the parcel does not move', async () => {
      await carrier().track({ trackingNumber: 'SBX-F1' });
      expect((await fault('rate_limit', 3_000)).status).toBe(200);
      const err = await failure(carrier(urlB).track({ trackingNumber: 'SBX-F1' }));
      expect(err).toMatchObject({ name: 'TransientError', code: 'rate_limited' });
      expect(err.retryAfterSeconds).toBeGreaterThanOrEqual(1);
      expect(err.retryAfterSeconds).toBeLessThanOrEqual(3);
      expect(await fetch(`${urlB}/carrier/faults`).then((r) => r.json())).toMatchObject({ mode: 'rate_limit' });
      await fault('none');
      expect((await carrier().track({ trackingNumber: 'SBX-F1' })).status).toBe('in_transit');
    });

    it('answers 500 while error500 lasts: carrier_unavailable', async () => {
      await fault('error500', 5_000);
      expect(await failure(carrier().track({ trackingNumber: 'SBX-F2' }))).toMatchObject({ name: 'TransientError', code: 'carrier_unavailable' });
    });

    it('holds the answer while timeout lasts: the adapter gives up at its timeout with carrier_unavailable', async () => {
      await fault('timeout', 5_000);
      const started = Date.now();
      expect(await failure(carrier(urlA, 300).track({ trackingNumber: 'SBX-F3' }))).toMatchObject({ name: 'TransientError', code: 'carrier_unavailable' });
      expect(Date.now() - started).toBeLessThan(2_000);
    });

    it('ends a fault by itself when forMs has passed', async () => {
      await fault('error500', 300);
      await new Promise((r) => setTimeout(r, 400));
      expect((await carrier().track({ trackingNumber: 'SBX-F4' })).status).toBe('info_received');
    });

    it('refuses an unknown fault mode', async () => {
      const res = await fault('meteor', 1_000);
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
    });
  });
});
