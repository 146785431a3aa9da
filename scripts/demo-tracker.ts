import type { Call } from './demo-api.js';
import type { PaymentAction } from './demo-shop.js';

/**
 * The demo's own bookkeeping of its orders, refreshed once a tick as cheaply as the API allows: one paged
 * `GET /v1/orders?status=` per non-final status (the shop is the demo's own, so every order listed is ours),
 * and a `GET /v1/orders/{id}` only for an order that left those lists, once, to learn how it ended.
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
  rejected: number;
  paymentFailed: number;
  /** Cancelled or refunded: the demo does neither, so this stays 0 unless someone else does. */
  other: number;
}

export class OrderTracker {
  private readonly status = new Map<string, string>();
  readonly reasons = new Map<string, number>();
  /** Placed orders waiting for their buyer: the payment action the shop shows them (QR code, link). */
  readonly actions = new Map<string, PaymentAction>();

  constructor(private readonly call: Call) {}

  accepted(id: string, status: string) {
    if (!this.status.has(id)) this.status.set(id, status);
  }

  /** Lists each open status in pipeline order: an order moving on moves to a list read later, so none is missed. */
  async refresh(): Promise<void> {
    // Orders accepted while the lists are read may be missing from them without having ended: left for next time.
    const known = new Set(this.status.keys());
    const seen = new Map<string, string>();
    for (const status of OPEN) {
      for (let cursor: string | null = null, first = true; first || cursor; first = false) {
        const r = await this.call('GET', `/v1/orders?status=${status}&limit=100${cursor ? `&cursor=${cursor}` : ''}`);
        if (r.status !== 200) return; // a hiccup: keep what we knew, try again next tick
        for (const o of r.json.data as Array<{ id: string; status: string; payment?: { status: string; action?: PaymentAction | null } }>) {
          seen.set(o.id, o.status);
          if (o.status === 'placed' && o.payment?.status === 'action_required' && o.payment.action) this.actions.set(o.id, o.payment.action);
          else this.actions.delete(o.id);
        }
        cursor = r.json.nextCursor;
      }
    }
    const ended: string[] = [];
    for (const [id, before] of this.status) {
      if (FINAL.has(before) || !known.has(id)) continue;
      const now = seen.get(id);
      if (now) this.status.set(id, now);
      else ended.push(id);
      if (now !== 'placed') this.actions.delete(id);
    }
    for (let i = 0; i < ended.length; i += 16) await Promise.all(ended.slice(i, i + 16).map((id) => this.settle(id)));
  }

  private async settle(id: string) {
    const r = await this.call('GET', `/v1/orders/${id}`);
    if (r.status !== 200) return;
    this.status.set(id, r.json.status);
    if (r.json.status === 'rejected' || r.json.status === 'payment_failed') {
      const why = `${r.json.status}: ${r.json.statusReason ?? 'unknown'}`;
      this.reasons.set(why, (this.reasons.get(why) ?? 0) + 1);
    }
  }

  withStatus(status: string): string[] {
    return [...this.status].filter(([, s]) => s === status).map(([id]) => id);
  }

  allFinal(): boolean {
    return [...this.status.values()].every((s) => FINAL.has(s));
  }

  counts(): Counts {
    const c: Counts = { accepted: this.status.size, inFlight: 0, placed: 0, paid: 0, shipped: 0, delivered: 0, rejected: 0, paymentFailed: 0, other: 0 };
    for (const s of this.status.values()) {
      if (s === 'received') c.inFlight++;
      else if (s === 'payment_failed') c.paymentFailed++;
      else if (s === 'placed' || s === 'paid' || s === 'shipped' || s === 'delivered' || s === 'rejected') c[s]++;
      else c.other++;
    }
    return c;
  }
}
