import type { Call } from './demo-api.js';
import { kindOfTrackingNumber } from './demo-mix.js';
import type { PaymentAction } from './demo-shop.js';

/**
 * The demo's own bookkeeping of its orders and parcels, refreshed once a tick as cheaply as the API allows: one
 * paged `GET /v1/orders?status=` per non-final status (the shop is the demo's own, so every order listed is
 * ours; each carries its parcels), one paged `GET /v1/shipments?delayed=true`, and a `GET /v1/orders/{id}` only
 * for an order that left those lists, once, to learn how it ended.
 */

const OPEN = ['received', 'placed', 'paid', 'shipped'] as const;
const FINAL = new Set(['delivered', 'rejected', 'payment_failed', 'cancelled', 'refunded']);

export interface Counts {
  accepted: number;
  /** Still `received`: accepted, waiting for placement. */
  inFlight: number;
  placed: number;
  paid: number;
  shipped: number;
  delivered: number;
  /** Refunded in full: here, by the returns of their goods. */
  refunded: number;
  rejected: number;
  paymentFailed: number;
  /** The demo cancels nothing, so this stays 0 unless someone else does. */
  cancelled: number;
}

export interface ParcelCounts {
  delivered: number;
  /** Delivered after a failed delivery attempt (`SBX-RETRY-`). */
  deliveredAfterRetry: number;
  returnedToSender: number;
  /** In `exception` (`SBX-LOST-`). */
  lost: number;
  /** What `GET /v1/shipments?delayed=true` lists now. */
  delayed: number;
}

interface Parcel {
  id: string;
  trackingNumber: string;
  status: string;
  retried: boolean;
}

interface OrderJson {
  id: string;
  status: string;
  statusReason?: string | null;
  payment?: { status: string; action?: PaymentAction | null };
  shipments?: Array<{ id: string; trackingNumber: string; status: string; events?: Array<{ status: string }> }>;
}

export class OrderTracker {
  private readonly status = new Map<string, string>();
  /** Each order's parcels as last seen. */
  private readonly parcels = new Map<string, Parcel[]>();
  private delayed = new Set<string>();
  readonly reasons = new Map<string, number>();
  /** Placed orders waiting for their buyer: the payment action the shop shows them (QR code, link). */
  readonly actions = new Map<string, PaymentAction>();
  /** Each order's number in the run: it decides its parcel and its return (demo-mix.ts). */
  readonly numbers = new Map<string, number>();

  constructor(private readonly call: Call) {}

  accepted(id: string, status: string, n: number) {
    if (!this.status.has(id)) this.status.set(id, status);
    this.numbers.set(id, n);
  }

  /** An order as the API shows it (in a list, or read whole): its status and its parcels. */
  seen(o: OrderJson) {
    this.status.set(o.id, o.status);
    if (!o.shipments) return;
    this.parcels.set(o.id, o.shipments.map((s) => ({
      id: s.id, trackingNumber: s.trackingNumber, status: s.status, retried: !!s.events?.some((e) => e.status === 'failed_attempt'),
    })));
  }

  /** Lists each open status in pipeline order: an order moving on moves to a list read later, so none is missed. */
  async refresh(): Promise<void> {
    // Orders accepted while the lists are read may be missing from them without having ended: left for next time.
    const known = new Set(this.status.keys());
    const seen = new Map<string, OrderJson>();
    for (const status of OPEN) {
      const listed = await this.list<OrderJson>(`/v1/orders?status=${status}`);
      if (!listed) return; // a hiccup: keep what we knew, try again next tick
      for (const o of listed) {
        seen.set(o.id, o);
        if (o.status === 'placed' && o.payment?.status === 'action_required' && o.payment.action) this.actions.set(o.id, o.payment.action);
        else this.actions.delete(o.id);
      }
    }
    const delayed = await this.list<{ id: string }>('/v1/shipments?delayed=true');
    if (delayed) this.delayed = new Set(delayed.map((s) => s.id));
    const ended: string[] = [];
    for (const [id, before] of this.status) {
      if (FINAL.has(before) || !known.has(id)) continue;
      const now = seen.get(id);
      if (now) this.seen(now);
      else ended.push(id);
      if (now?.status !== 'placed') this.actions.delete(id);
    }
    for (let i = 0; i < ended.length; i += 16) await Promise.all(ended.slice(i, i + 16).map((id) => this.settle(id)));
  }

  /** Every page of a listing, or undefined if a call failed. */
  private async list<T>(path: string): Promise<T[] | undefined> {
    const all: T[] = [];
    for (let cursor: string | null = null, first = true; first || cursor; first = false) {
      const r = await this.call('GET', `${path}&limit=100${cursor ? `&cursor=${cursor}` : ''}`);
      if (r.status !== 200) return undefined;
      all.push(...(r.json.data as T[]));
      cursor = r.json.nextCursor;
    }
    return all;
  }

  private async settle(id: string) {
    const r = await this.call('GET', `/v1/orders/${id}`);
    if (r.status !== 200) return;
    this.seen(r.json);
    if (r.json.status === 'rejected' || r.json.status === 'payment_failed') {
      const why = `${r.json.status}: ${r.json.statusReason ?? 'unknown'}`;
      this.reasons.set(why, (this.reasons.get(why) ?? 0) + 1);
    }
  }

  withStatus(status: string): string[] {
    return [...this.status].filter(([, s]) => s === status).map(([id]) => id);
  }

  /**
   * A shipped order waiting only on parcels that will not move on: returned to the sender, lost (in
   * `exception`), or late and reported delayed by orderworks. Nothing the demo waits for will happen to it.
   */
  stuck(id: string): boolean {
    const parcels = this.parcels.get(id);
    return this.status.get(id) === 'shipped' && !!parcels?.length && parcels.every((p) => this.wontMove(p));
  }

  private wontMove(p: Parcel): boolean {
    const kind = kindOfTrackingNumber(p.trackingNumber);
    return p.status === 'returned_to_sender' || (kind === 'lost' && p.status === 'exception') || (kind === 'late' && this.delayed.has(p.id));
  }

  /** Every order has ended, or waits only on parcels that will not move on. */
  allSettled(): boolean {
    return [...this.status].every(([id, s]) => FINAL.has(s) || this.stuck(id));
  }

  counts(): Counts {
    const c: Counts = { accepted: this.status.size, inFlight: 0, placed: 0, paid: 0, shipped: 0, delivered: 0, refunded: 0, rejected: 0, paymentFailed: 0, cancelled: 0 };
    for (const s of this.status.values()) {
      if (s === 'received') c.inFlight++;
      else if (s === 'payment_failed') c.paymentFailed++;
      else if (s === 'placed' || s === 'paid' || s === 'shipped' || s === 'delivered' || s === 'refunded' || s === 'rejected' || s === 'cancelled') c[s]++;
    }
    return c;
  }

  parcelCounts(): ParcelCounts {
    const c: ParcelCounts = { delivered: 0, deliveredAfterRetry: 0, returnedToSender: 0, lost: 0, delayed: this.delayed.size };
    for (const p of [...this.parcels.values()].flat()) {
      if (p.status === 'delivered') c.delivered++;
      if (p.status === 'delivered' && p.retried) c.deliveredAfterRetry++;
      if (p.status === 'returned_to_sender') c.returnedToSender++;
      if (p.status === 'exception') c.lost++;
    }
    return c;
  }

  /** Shipped orders that will stay so. */
  stuckCount(): number {
    return [...this.status.keys()].filter((id) => this.stuck(id)).length;
  }
}
