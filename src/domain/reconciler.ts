/**
 * The one reconciler. Postgres holds what must happen (the lifecycle's states that need follow-up work);
 * Redis holds the jobs doing it, and may lose them. Each tick walks the candidates of every kind of work
 * with a cursor that carries on where the last tick stopped, asks for their jobs' states a page at a time,
 * and restarts only the work whose job is really gone, failed or finished. A job still waiting, running or
 * backing off is left alone and not counted.
 */

/** The kinds of follow-up work the reconciler watches. */
export const STREAMS = ['placement', 'capture', 'refund', 'delivery'] as const;
export type Stream = (typeof STREAMS)[number];

/** A row that may need its work restarted. */
export interface Candidate {
  /** The order (placement, capture, delivery) or the refund (refund). */
  id: string;
  /** Its shop: what every follow-up statement finds it by. */
  shopId: string;
  /** capture: when the stock hold began. */
  placedAt?: Date;
  /** delivery: the order's latest pending event. */
  seq?: number;
}
/** Where a walk stands, as the store wrote it: the reconciler only hands it back. */
export interface Cursor {
  at: string;
  key: string;
}

export interface CandidatePage {
  candidates: Candidate[];
  /** Where the next page starts; null when this page was the last. */
  next: Cursor | null;
}

export type JobState = 'pending' | 'failed' | 'done' | 'missing';

/** What the reconciler starts; each start never throws and says whether the job reached the queue. */
export type Restart =
  | { work: 'place'; shopId: string; orderId: string }
  | { work: 'capture'; shopId: string; orderId: string }
  | { work: 'abandon'; shopId: string; orderId: string; reason: 'payment_timeout' | 'payment_retries_exhausted' }
  | { work: 'refund'; shopId: string; refundId: string }
  | { work: 'deliver'; shopId: string; orderId: string; seq: number };

export interface ReconcilerDeps {
  /** Up to `limit` rows of `stream` not touched since `before`, after `cursor` in the store's order. */
  candidates(stream: Stream, before: Date, after: Cursor | null, limit: number): Promise<CandidatePage>;
  /** The state of each candidate's job, for a whole page at once, in order. */
  jobStates(stream: Stream, candidates: readonly Candidate[]): Promise<JobState[]>;
  /** Puts the work back whatever is left of its old job. Never rejects: false when Redis did not take it. */
  restart(r: Restart): Promise<boolean>;
  cursors: { get(stream: Stream): Promise<Cursor | null>; set(stream: Stream, cursor: Cursor | null): Promise<void> };
}

export interface ReconcileOptions {
  staleAfterMs: number;
  holdExpiresMs: number;
  pageSize?: number;
  /** Rows read per stream per tick, at most: a tick is bounded by its work, whatever the backlog. */
  budget?: number;
  streams?: readonly Stream[];
}

export type ReconcileResult = { checked: number; notStarted: number; restarted: Record<Restart['work'], number> };

/** What to do about one candidate whose job is in `state`; null: its work is under way. */
export function decide(stream: Stream, c: Candidate, state: JobState, now: number, holdExpiresMs: number): Restart | null {
  if (state === 'pending') return null;
  const order = { shopId: c.shopId, orderId: c.id };
  switch (stream) {
    case 'placement':
      return { work: 'place', ...order };
    case 'capture':
      // A capture that failed for good, or a hold that ran out with no capture in flight, gives up on the
      // payment (the abandon job asks the provider first); otherwise the lost capture starts again.
      if (state === 'failed') return { work: 'abandon', ...order, reason: 'payment_retries_exhausted' };
      if (c.placedAt && now - c.placedAt.getTime() >= holdExpiresMs) return { work: 'abandon', ...order, reason: 'payment_timeout' };
      return { work: 'capture', ...order };
    case 'refund':
      return { work: 'refund', shopId: c.shopId, refundId: c.id };
    case 'delivery':
      return { work: 'deliver', ...order, seq: c.seq ?? 0 };
  }
}

export async function reconcile(deps: ReconcilerDeps, opts: ReconcileOptions, now = Date.now()): Promise<ReconcileResult> {
  const result: ReconcileResult = { checked: 0, notStarted: 0, restarted: { place: 0, capture: 0, abandon: 0, refund: 0, deliver: 0 } };
  for (const stream of opts.streams ?? STREAMS) await walk(deps, stream, opts, now, result);
  return result;
}

async function walk(deps: ReconcilerDeps, stream: Stream, opts: ReconcileOptions, now: number, result: ReconcileResult) {
  const pageSize = opts.pageSize ?? 500;
  const budget = opts.budget ?? 10 * pageSize;
  const before = new Date(now - opts.staleAfterMs);
  let cursor = await deps.cursors.get(stream);
  let seen = 0;
  do {
    const limit = Math.min(pageSize, budget - seen);
    const { candidates, next } = await deps.candidates(stream, before, cursor, limit);
    const states = candidates.length ? await deps.jobStates(stream, candidates) : [];
    const restarts = candidates.flatMap((c, i) => decide(stream, c, states[i]!, now, opts.holdExpiresMs) ?? []);
    const started = await Promise.all(restarts.map((r) => deps.restart(r)));
    restarts.forEach((r, i) => (started[i] ? result.restarted[r.work]++ : result.notStarted++));
    result.checked += candidates.length;
    seen += limit;
    // At the end of the candidates the cursor goes back to the start: the next tick walks from the oldest.
    cursor = next;
  } while (cursor && seen < budget);
  await deps.cursors.set(stream, cursor);
}
