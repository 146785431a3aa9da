import type { ReturnCounts } from './demo-returns.js';
import type { Counts, ParcelCounts } from './demo-tracker.js';

/** What the demo prints: a progress line a second, and its summary. */

export interface DemoSummary {
  seconds: number;
  counts: Counts;
  /** Parcels the demo handed to the carrier, and what became of them. */
  parcels: ParcelCounts & { sent: number };
  /** Shipped orders that will stay so: their parcels will not move on (late and delayed, lost, returned to sender). */
  stuck: number;
  returns: ReturnCounts;
  /** Submissions that never got a 202 (after retries of 429/503/network errors). */
  refused: number;
  /** Why orders failed: "rejected: out_of_stock" -> how many. */
  reasons: Record<string, number>;
  /** Wallet QR orders whose buyer paid on the provider's checkout page. */
  paidByBuyers: number;
}

const pad = (n: number, w = 4) => String(n).padStart(w);

/** Minor units of the demo's currency (CNY, two decimals), without floating point. */
export const money = (minor: number) => `CNY ${Math.trunc(minor / 100)}.${String(minor % 100).padStart(2, '0')}`;

export function progressLine(s: DemoSummary): string {
  const { counts: c, parcels: p, returns: r } = s;
  return `${pad(Math.floor(s.seconds), 4)}s  accepted ${pad(c.accepted)}  placed ${pad(c.placed)}  paid ${pad(c.paid)}  ` +
    `shipped ${pad(c.shipped)}  delivered ${pad(c.delivered)}  refunded ${pad(c.refunded)}  failed ${pad(c.rejected + c.paymentFailed)}  ` +
    `in flight ${pad(c.inFlight)}  |  parcels delayed ${pad(p.delayed, 3)}  back to sender ${pad(p.returnedToSender, 3)}  lost ${pad(p.lost, 3)}  |  ` +
    `returns ${pad(r.requested, 3)}  received ${pad(r.received, 3)}  refunds ${money(r.refundedMinor)}`;
}

export function summaryLines(s: DemoSummary): string[] {
  const { counts: c, parcels: p, returns: r } = s;
  const reasons = Object.entries(s.reasons).sort((a, b) => b[1] - a[1]).map(([why, n]) => `${why} ${n}`).join(', ');
  const onTheWay = p.sent - p.delivered - p.returnedToSender - p.lost;
  const lines = [
    `summary after ${s.seconds.toFixed(1)}s: accepted ${c.accepted} = ${c.placed} placed + ${c.paid} paid + ${c.shipped} shipped + ` +
      `${c.delivered} delivered + ${c.refunded} refunded + ${c.rejected + c.paymentFailed} failed + ${c.inFlight} in flight` +
      `${c.cancelled ? ` + ${c.cancelled} cancelled` : ''}; ${s.refused} submissions refused`,
    `failed: ${c.rejected} rejected, ${c.paymentFailed} payment_failed${reasons ? ` (${reasons})` : ''}`,
    `buyers: ${s.paidByBuyers} wallet QR orders paid by their buyers on the provider's checkout page; the rest paid with tokens`,
    `parcels: ${p.sent} sent = ${p.delivered} delivered + ${p.returnedToSender} returned to sender + ${p.lost} lost + ${onTheWay} on the way; ` +
      `${p.deliveredAfterRetry} delivered after a failed attempt, ${p.delayed} reported delayed`,
    `returns: ${r.requested} requested = ${r.received} received + ${r.requested - r.received} open (${r.receivedByParcel} came back by parcel, ` +
      `${r.receivedByHand} received by hand); ${r.refundsSucceeded} refunds succeeded, ${money(r.refundedMinor)} refunded` +
      `${r.refused ? `; ${r.refused} requests refused` : ''}`,
  ];
  if (s.stuck > 0) {
    lines.push(`note: ${s.stuck} orders stay shipped: their parcels will not move on (late and reported delayed, lost, or returned to ` +
      'the sender); a shop would chase the carrier or refund the buyer');
  }
  const open = c.inFlight + c.placed + c.paid + c.shipped - s.stuck + r.open;
  if (open > 0) {
    lines.push(`note: ${open} orders or returns had not ended when time ran out. Give the demo more --seconds, or start orderworks with ` +
      'PAYMENT_RETRY_BASE_MS=2000 TRACKING_REFRESH_EVERY_MS=2000 CARRIER_CALLS_PER_SECOND=100 (payment backoff, parcel steps, carrier rate)');
  }
  return lines;
}
