import { describe, expect, it } from 'vitest';
import { decide, reconcile, type Candidate, type Cursor, type JobState, type ReconcilerDeps, type Restart, type Stream } from '../../src/domain/reconciler.js';

const HOUR = 3_600_000;
const NOW = Date.parse('2026-01-01T12:00:00Z');
const candidate = (n: number, extra: Partial<Candidate> = {}): Candidate => ({ id: `id${String(n).padStart(4, '0')}`, shopId: 'shop', ...extra });
/** A row of the store: its candidate and when it was last touched. */
type Row = { c: Candidate; at: Date };
const row = (n: number, at = new Date(NOW - HOUR + n)): Row => ({ c: candidate(n), at });

/** Rows in Postgres and job states in Redis, in memory: what the reconciler reads and what it restarts. */
function world(rows: Partial<Record<Stream, Row[]>>, state: (s: Stream, c: Candidate) => JobState, refuse = (_r: Restart) => false) {
  const cursors = new Map<Stream, Cursor | null>();
  const restarts: Restart[] = [];
  const pages: Array<{ stream: Stream; keys: string[] }> = [];
  const deps: ReconcilerDeps = {
    async candidates(stream, before, after, limit) {
      const all = (rows[stream] ?? []).filter((r) => r.at < before && (!after || r.c.id > after.key)).sort((a, b) => a.c.id.localeCompare(b.c.id));
      const page = all.slice(0, limit).map((r) => r.c);
      pages.push({ stream, keys: page.map((c) => c.id) });
      const last = page[page.length - 1];
      return { candidates: page, next: page.length < limit || !last ? null : { at: '', key: last.id } };
    },
    jobStates: async (stream, cs) => cs.map((c) => state(stream, c)),
    async restart(r) {
      if (refuse(r)) return false;
      restarts.push(r);
      return true;
    },
    cursors: { get: async (s) => cursors.get(s) ?? null, set: async (s, c) => void cursors.set(s, c) },
  };
  return { deps, restarts, pages, cursors };
}

describe('what the reconciler does about one candidate', () => {
  const opts = [NOW, 30 * 60_000] as const;
  it('leaves work whose job is waiting, delayed or running alone', () => {
    for (const s of ['placement', 'capture', 'refund', 'delivery'] as Stream[]) expect(decide(s, candidate(1), 'pending', ...opts)).toBeNull();
  });
  it('restarts placement, refunds and deliveries whose job is missing, failed or finished', () => {
    for (const state of ['missing', 'failed', 'done'] as JobState[]) {
      expect(decide('placement', candidate(1), state, ...opts)).toEqual({ work: 'place', shopId: 'shop', orderId: 'id0001' });
      expect(decide('refund', candidate(2), state, ...opts)).toEqual({ work: 'refund', shopId: 'shop', refundId: 'id0002' });
      expect(decide('delivery', candidate(3, { seq: 7 }), state, ...opts)).toEqual({ work: 'deliver', shopId: 'shop', orderId: 'id0003', seq: 7 });
    }
  });
  it('gives up on a payment whose capture failed for good, or whose hold expired; else captures again', () => {
    const fresh = candidate(1, { placedAt: new Date(NOW - 60_000) });
    const expired = candidate(2, { placedAt: new Date(NOW - HOUR) });
    expect(decide('capture', fresh, 'failed', ...opts)).toEqual({ work: 'abandon', shopId: 'shop', orderId: 'id0001', reason: 'payment_retries_exhausted' });
    expect(decide('capture', expired, 'missing', ...opts)).toEqual({ work: 'abandon', shopId: 'shop', orderId: 'id0002', reason: 'payment_timeout' });
    expect(decide('capture', fresh, 'done', ...opts)).toEqual({ work: 'capture', shopId: 'shop', orderId: 'id0001' });
  });
});

describe('the reconciler walk', () => {
  const opts = { staleAfterMs: 60_000, holdExpiresMs: 30 * 60_000, pageSize: 10, budget: 20, streams: ['placement'] as Stream[] };

  it('walks on from where the last tick stopped, so the newest lost work is found during a backlog, then starts over', async () => {
    // 45 old received orders: the first 40 have their job queued (a backlog), the last 5 lost theirs.
    const rows = Array.from({ length: 45 }, (_, n) => row(n));
    const w = world({ placement: rows }, (_s, c) => (Number(c.id.slice(2)) < 40 ? 'pending' : 'missing'));
    const ticks = [];
    for (let t = 0; t < 4; t++) ticks.push(await reconcile(w.deps, opts, NOW));
    expect(ticks.map((r) => r.checked)).toEqual([20, 20, 5, 20]);
    expect(ticks.map((r) => r.restarted.place)).toEqual([0, 0, 5, 0]);
    expect(w.restarts).toEqual([40, 41, 42, 43, 44].map((n) => ({ work: 'place', shopId: 'shop', orderId: `id00${n}` })));
    // Each tick read a budget's worth of new rows; after the end the walk began again from the oldest.
    expect(w.pages.map((p) => p.keys[0])).toEqual(['id0000', 'id0010', 'id0020', 'id0030', 'id0040', 'id0000', 'id0010']);
  });

  it('counts only work it restarted: work under way is not a repair, and a restart Redis refused is counted apart', async () => {
    const rows = Array.from({ length: 6 }, (_, n) => row(n));
    const w = world({ placement: rows }, (_s, c) => (c.id === 'id0000' ? 'pending' : 'missing'), (r) => r.work === 'place' && r.orderId === 'id0001');
    const result = await reconcile(w.deps, opts, NOW);
    expect(result).toEqual({ checked: 6, notStarted: 1, restarted: { place: 4, capture: 0, abandon: 0, refund: 0, deliver: 0 } });
  });

  it('does not touch rows younger than the stale age', async () => {
    const w = world({ placement: [row(1, new Date(NOW - 1_000))] }, () => 'missing');
    expect((await reconcile(w.deps, opts, NOW)).checked).toBe(0);
  });
});
