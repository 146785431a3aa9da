import type { Answer, Call } from './http.js';
import { sleep } from './cluster.js';

/**
 * The simulated upstream shop: submits orders with every method and token script, retries a submission with
 * the same Idempotency-Key on 503 or a lost connection (as a real shop would), ships paid orders with the
 * sandbox carrier, asks for partial and full refunds, cancels some orders early and some once paid.
 */

export const METHODS = ['alipay', 'wechat_pay', 'paypal', 'card'] as const;
export const SKUS = { TEA: 1999, CUP: 12900, HOT: 88800 } as const;
type Plan = 'ship' | 'cancel_early' | 'cancel_paid' | 'refund_partial' | 'refund_full';

export interface ShopAccount {
  name: string;
  id: string;
  call: Call;
  webhook: boolean;
}

export interface Tracked {
  n: number;
  shop: ShopAccount;
  key: string;
  id: string;
  plan: Plan;
  step: 'new' | 'shipped' | 'refund1' | 'refund2' | 'done';
  captured?: number;
  /** A wallet QR order: its buyer pays on the provider's checkout page (a wrong amount, for some). */
  wallet?: WalletBuyer;
}

export interface WalletBuyer {
  wrongAmount: boolean;
  /** When the buyer, having the QR code, pays (ms since the epoch): soon after it shows, at a random moment. */
  payAt?: number;
  /** `paid`: the provider took the buyer's money; `gone`: the trade can no longer be paid (closed, expired) or the order ended first. */
  state: 'waiting' | 'paid' | 'gone';
  attempts: number;
}

export interface ShopStats {
  submitted: number;
  accepted: number;
  gaveUp: number;
  retries: number;
  unexpected: string[];
  cancels: number;
  shipments: number;
  refunds: number;
  /** Refunds past the captured amount that were refused (409), as they must be. */
  overRefundsRefused: number;
  /** Refunds past the captured amount that were accepted: a broken promise. */
  overRefundsAccepted: string[];
}

export const newShopStats = (): ShopStats => ({
  submitted: 0, accepted: 0, gaveUp: 0, retries: 0, unexpected: [], cancels: 0, shipments: 0, refunds: 0, overRefundsRefused: 0, overRefundsAccepted: [],
});

export function tokenOf(n: number): string {
  const r = n % 20;
  if (r === 3 || r === 13) return 'tok_decline';
  if (r === 7 || r === 17) return 'tok_flaky';
  if (r === 11 || r === 19) return 'tok_timeout';
  return 'tok_ok';
}

export function planOf(n: number): Plan {
  if (n % 25 === 0) return 'cancel_early';
  if (n % 25 === 12) return 'cancel_paid';
  if (n % 25 === 21) return 'refund_full';
  if (n % 10 === 2) return 'refund_partial';
  return 'ship';
}

/** One order in five is a wallet QR checkout its buyer pays; one in seven of those pays the wrong amount. */
export const isWalletQr = (n: number) => n % 5 === 1;
export const paysWrongAmount = (n: number) => n % 35 === 1;

export function orderOf(run: string, n: number) {
  const items =
    n % 10 === 5 ? [{ sku: 'HOT', quantity: 1 }]
    : n % 50 === 7 ? [{ sku: 'NOPE', quantity: 1 }]
    : [{ sku: 'TEA', quantity: 1 + (n % 3) }, ...(n % 4 === 0 ? [{ sku: 'CUP', quantity: 1 }] : [])];
  return {
    externalId: `chaos-${run}-${n}`,
    currency: 'CNY',
    items,
    customer: { name: `Customer ${n}`, email: `c${n}@example.com`, phone: '+8613800000000' },
    shippingAddress: { name: `Customer ${n}`, line1: `${n} Nanjing Rd`, city: 'Shanghai', postalCode: '200001', country: 'CN' },
    // The method shifts every twenty orders, so every method meets every token script; the QR checkouts
    // alternate between Alipay and WeChat Pay.
    payment: isWalletQr(n)
      ? { method: Math.floor(n / 5) % 2 === 0 ? 'alipay' : 'wechat_pay', flow: 'qr' }
      : { method: METHODS[(n + Math.floor(n / 20)) % METHODS.length]!, token: tokenOf(n) },
  };
}

const retryable = (a: Answer) => a.status <= 0 || a.status === 503 || a.status === 429;
const waitFor = (a: Answer, attempt: number) =>
  a.retryAfter ? Math.min(5_000, Math.max(200, Number(a.retryAfter) * 1000)) : Math.min(3_000, 250 * attempt);

/** Submits order n until it is answered 202 (same key every time), or gives up after `giveUpMs`. */
export async function submit(shop: ShopAccount, run: string, n: number, stats: ShopStats, giveUpMs: number): Promise<Tracked | undefined> {
  const key = `chaos-${run}-${n}`;
  const body = orderOf(run, n);
  const until = Date.now() + giveUpMs;
  stats.submitted++;
  for (let attempt = 1; ; attempt++) {
    const a = await shop.call('POST', '/v1/orders', body, { 'idempotency-key': key });
    if (a.status === 202) {
      stats.accepted++;
      return { n, shop, key, id: a.json.id, plan: planOf(n), step: 'new', ...(isWalletQr(n) ? { wallet: { wrongAmount: paysWrongAmount(n), state: 'waiting', attempts: 0 } } : {}) };
    }
    if (!retryable(a) || Date.now() > until) {
      if (retryable(a)) stats.gaveUp++;
      else stats.unexpected.push(`order ${key}: HTTP ${a.status} ${JSON.stringify(a.json).slice(0, 200)}`);
      return undefined;
    }
    stats.retries++;
    await sleep(waitFor(a, attempt));
  }
}

/** One call that must end in one of `ok`; retried on 503, 429 and lost connections. */
async function must(call: () => Promise<Answer>, ok: number[], what: string, stats: ShopStats): Promise<Answer | undefined> {
  for (let attempt = 1; attempt <= 8; attempt++) {
    const a = await call();
    if (ok.includes(a.status)) return a;
    if (!retryable(a)) {
      stats.unexpected.push(`${what}: HTTP ${a.status} ${JSON.stringify(a.json).slice(0, 200)}`);
      return undefined;
    }
    await sleep(waitFor(a, attempt));
  }
  return undefined; // a later pass tries again
}

/** Cancel right after acceptance: races placement and capture on purpose. */
export async function cancelEarly(t: Tracked, stats: ShopStats): Promise<void> {
  const a = await must(() => t.shop.call('POST', `/v1/orders/${t.id}/cancel`), [202, 409], `cancel ${t.id}`, stats);
  if (a?.status === 202) stats.cancels++;
  if (a) t.step = 'done'; // else the shop cancels it when it sees it paid
}

/** What the shop does with one of its orders it sees `paid`. */
export async function onPaid(t: Tracked, order: { totalMinor: number; payment: { capturedMinor: number } }, stats: ShopStats): Promise<void> {
  const { call } = t.shop;
  const captured = order.payment.capturedMinor;
  const refund = (suffix: string, amountMinor: number) =>
    call('POST', `/v1/orders/${t.id}/refunds`, { amountMinor, reason: 'chaos' }, { 'idempotency-key': `${t.key}-${suffix}` });
  if (t.plan === 'cancel_paid' || t.plan === 'cancel_early') {
    const a = await must(() => call('POST', `/v1/orders/${t.id}/cancel`), [202, 409], `cancel ${t.id}`, stats);
    if (a?.status === 202) stats.cancels++;
    if (a) t.step = 'done';
    return;
  }
  if (t.plan === 'refund_full') {
    const a = await must(() => refund('full', captured), [202, 409], `refund ${t.id}`, stats);
    if (a?.status === 202) stats.refunds++;
    if (a) t.step = 'done';
    return;
  }
  if (t.step === 'new') {
    const a = await must(
      () => call('POST', `/v1/orders/${t.id}/shipments`, { carrier: 'sandbox', trackingNumber: `SBX-${t.key}`.toUpperCase() }),
      [201, 200, 409],
      `ship ${t.id}`,
      stats,
    );
    if (!a) return;
    if (a.status !== 409) stats.shipments++;
    t.step = t.plan === 'refund_partial' ? 'shipped' : 'done';
    t.captured = captured;
  }
  if (t.plan === 'refund_partial') await refundPartly(t, captured, stats);
}

/** Partial refunds of a shipped order: two thirds in two parts, then one past the captured amount (must be 409). */
export async function refundPartly(t: Tracked, captured: number, stats: ShopStats): Promise<void> {
  const call = (suffix: string, amountMinor: number) =>
    t.shop.call('POST', `/v1/orders/${t.id}/refunds`, { amountMinor, reason: 'chaos partial' }, { 'idempotency-key': `${t.key}-${suffix}` });
  const third = Math.max(1, Math.floor(captured / 3));
  if (t.step === 'shipped') {
    const a = await must(() => call('p1', third), [202], `refund ${t.id}`, stats);
    if (!a) return;
    stats.refunds++;
    t.step = 'refund1';
  }
  if (t.step === 'refund1') {
    const a = await must(() => call('p2', third), [202], `refund ${t.id}`, stats);
    if (!a) return;
    stats.refunds++;
    t.step = 'refund2';
  }
  if (t.step === 'refund2') {
    const a = await must(() => call('p3', captured), [202, 409], `over-refund ${t.id}`, stats);
    if (!a) return;
    if (a.status === 409) stats.overRefundsRefused++;
    else stats.overRefundsAccepted.push(`${t.id}: a refund of ${captured} after ${2 * third} was answered 202`);
    t.step = 'done';
  }
}

/**
 * The buyer of a wallet QR order, at one look: reads the order as the shop shows it; once it shows its QR code
 * (and the buyer's moment came), opens the code (a GET, redirects followed, to the provider's checkout page)
 * and pays, the exact amount or, for some, not. A lost answer or an outage is tried again at the next look;
 * a 409 (already paid, closed) is settled from the provider's ledger.
 */
export async function actAsBuyer(t: Tracked, sandbox: string, random: () => number): Promise<void> {
  const w = t.wallet!;
  if (w.state !== 'waiting') return;
  const o = await t.shop.call('GET', `/v1/orders/${t.id}`);
  if (o.status !== 200) return;
  const action = o.json.payment?.action as { type: string; qrContent?: string } | null;
  if (o.json.status !== 'placed' || o.json.payment?.status !== 'action_required' || !action) {
    // Not (yet, or any more) waiting for its buyer: ended, or the trade is still being opened (the provider down).
    if (!['received', 'placed'].includes(o.json.status)) w.state = 'gone';
    return;
  }
  w.payAt ??= Date.now() + random() * 2_000;
  if (Date.now() < w.payAt) return;
  w.attempts++;
  const page = await fetch(action.qrContent!, { redirect: 'follow', signal: AbortSignal.timeout(10_000) }).catch(() => undefined);
  if (!page) return;
  await page.arrayBuffer();
  const ref = /\/sandbox\/checkout\/([^/?#]+)/.exec(page.url)?.[1];
  if (page.status !== 200 || !ref) return;
  const amount = w.wrongAmount ? { amountMinor: Number(o.json.totalMinor) - 1 } : {};
  const paid = await fetch(`${sandbox}/checkout/${ref}/pay`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(amount), signal: AbortSignal.timeout(10_000),
  }).catch(() => undefined);
  if (!paid) return;
  await paid.arrayBuffer();
  if (paid.status < 300) w.state = 'paid';
  else if (paid.status === 409) {
    const ledger = await fetch(`${sandbox}/charges?reference=${t.id}`).then((r) => r.json(), () => undefined) as { data?: Array<{ tradeRef: string; paidAt: string | null }> } | undefined;
    if (ledger?.data) w.state = ledger.data.some((c) => c.tradeRef === ref && c.paidAt) ? 'paid' : 'gone';
  }
}
