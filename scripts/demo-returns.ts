import { returnOf, returnTrackingNumberOf } from './demo-mix.js';
import { orderOf, type DemoShop } from './demo-shop.js';
import type { OrderTracker } from './demo-tracker.js';

/**
 * The buyers who send goods back, and the shop's counter that takes them in (docs/api.md section 7a). Once a
 * tick: requests the returns due (delivered orders that demo-mix.ts picks), receives by hand those handed in at
 * the shop, and follows each open return through a `GET /v1/orders/{id}` until it is received and its refund
 * has ended; that read also tells the tracker whether the order is now `refunded`.
 */

interface Return {
  id: string;
  orderId: string;
  status: 'requested' | 'received';
  byHand: boolean;
  receivedBy: 'parcel' | 'shop' | null;
  refund: { id: string; amountMinor: number; status: 'pending' | 'succeeded' | 'failed' } | null;
}

export interface ReturnCounts {
  requested: number;
  received: number;
  receivedByParcel: number;
  receivedByHand: number;
  /** Requested, or received with its refund still pending. */
  open: number;
  refundsSucceeded: number;
  refundedMinor: number;
  /** Requests orderworks refused (409: the order could no longer take it back). */
  refused: number;
}

/** Requests, receipts and reads in flight at once. */
const BATCH = 16;

export class ReturnDesk {
  private readonly returns = new Map<string, Return>();
  /** Orders whose return was requested or refused: never asked twice. */
  private readonly done = new Set<string>();
  private refused = 0;

  constructor(private readonly shop: DemoShop, private readonly tracker: OrderTracker) {}

  async refresh(): Promise<void> {
    await inBatches(this.openReturns(), (r) => this.follow(r));
    await inBatches(this.openReturns().filter((r) => r.byHand && r.status === 'requested'), (r) => this.receiveByHand(r));
    await inBatches(this.due(), (orderId) => this.request(orderId));
  }

  /** Nothing left to do: no return due, none open. */
  idle(): boolean {
    return this.due().length === 0 && this.openReturns().length === 0;
  }

  counts(): ReturnCounts {
    const all = [...this.returns.values()];
    const received = all.filter((r) => r.status === 'received');
    const succeeded = all.filter((r) => r.refund?.status === 'succeeded');
    return {
      requested: all.length,
      received: received.length,
      receivedByParcel: received.filter((r) => r.receivedBy === 'parcel').length,
      receivedByHand: received.filter((r) => r.receivedBy === 'shop').length,
      open: this.openReturns().length,
      refundsSucceeded: succeeded.length,
      refundedMinor: succeeded.reduce((sum, r) => sum + r.refund!.amountMinor, 0),
      refused: this.refused,
    };
  }

  private due(): string[] {
    return this.tracker.withStatus('delivered').filter((id) => !this.done.has(id) && returnOf(this.tracker.numbers.get(id) ?? 0));
  }

  private openReturns(): Return[] {
    return [...this.returns.values()].filter((r) => r.status === 'requested' || r.refund?.status === 'pending');
  }

  /**
   * One unit of the order's first line back, restocked. The idempotency key is the order's: a retry after a
   * lost answer is the same return.
   */
  private async request(orderId: string) {
    const n = this.tracker.numbers.get(orderId)!;
    const byHand = returnOf(n)!.byHand;
    const body = {
      items: [{ sku: orderOf(this.shop, n).items[0]!.sku, quantity: 1 }],
      reason: byHand ? 'changed my mind; brought it to the shop' : 'changed my mind',
      restock: true,
      ...(byHand ? {} : { carrier: 'sandbox', trackingNumber: returnTrackingNumberOf(this.shop.run, n) }),
    };
    const key = `demo-${this.shop.run}-${n}-return`;
    const r = await this.shop.call('POST', `/v1/orders/${orderId}/returns`, body, { 'idempotency-key': key }).catch(() => undefined);
    if (r?.status === 200 || r?.status === 201) {
      this.done.add(orderId);
      this.note({ ...r.json, byHand });
    } else if (r?.status === 409) {
      this.done.add(orderId);
      this.refused++;
    }
  }

  private async receiveByHand(ret: Return) {
    const r = await this.shop.call('POST', `/v1/returns/${ret.id}/receive`).catch(() => undefined);
    if (r?.status === 200) this.note({ ...r.json, byHand: true });
  }

  private async follow(ret: Return) {
    const r = await this.shop.call('GET', `/v1/orders/${ret.orderId}`).catch(() => undefined);
    if (r?.status !== 200) return;
    const now = (r.json.returns as Return[]).find((x) => x.id === ret.id);
    if (now) this.note({ ...now, byHand: ret.byHand });
    this.tracker.seen(r.json);
  }

  private note(r: Return) {
    this.returns.set(r.id, { id: r.id, orderId: r.orderId, status: r.status, byHand: r.byHand, receivedBy: r.receivedBy, refund: r.refund });
  }
}

async function inBatches<T>(items: T[], each: (item: T) => Promise<void>) {
  for (let i = 0; i < items.length; i += BATCH) await Promise.all(items.slice(i, i + BATCH).map(each));
}
