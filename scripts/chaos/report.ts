import type { Check } from './invariants.js';
import type { HttpStats } from './http.js';
import type { Timeline } from './faults.js';
import type { ShopStats } from './shop.js';

export interface ChaosReport {
  pass: boolean;
  seconds: number;
  quiescentAfterSeconds: number | null;
  shop: ShopStats;
  http: HttpStats;
  timeline: Timeline;
  probes: number;
  checks: Check[];
  dir: string;
  seed: number;
  /** Providers' notifications through the relay, by path, and the web process's answers by status. */
  notify: { received: Record<string, number>; forwarded: Record<string, number>; duplicated: Record<string, number>; replayed: Record<string, number> };
  /** Wallet QR orders and what their buyers did. */
  wallets: { orders: number; paidByBuyer: number; wrongAmount: number; gone: number; waiting: number };
}

const n = (v: number) => v.toLocaleString('en-US');
const tally = (m: Record<string, number>) => Object.entries(m).sort().map(([k, v]) => `${k.replace('/v1/payments/notify/', '')} ${n(v)}`).join(', ') || 'none';

/** The report a person reads at the end of `npm run chaos`, and the one pasted into RELIABILITY.md. */
export function formatReport(r: ChaosReport): string {
  const s = r.shop;
  const o = r.http.outage;
  const e500 = Object.entries(r.http.byStatus).filter(([k]) => Number(k) >= 500 && k !== '503').reduce((a, [, v]) => a + v, 0);
  const lines = [
    `chaos run (seed ${r.seed}): ${r.pass ? 'PASS' : 'FAIL'} in ${r.seconds.toFixed(0)} s` +
      (r.quiescentAfterSeconds === null ? ' (did not reach quiescence)' : ` (quiescent ${r.quiescentAfterSeconds.toFixed(0)} s after the load)`),
    `  orders       submitted ${n(s.submitted)} (${n(r.probes)} of them probes during outages), accepted 202 ${n(s.accepted)}, gave up ${s.gaveUp}, resubmissions ${n(s.retries)}`,
    `  shop work    shipments ${n(s.shipments)}, cancels ${n(s.cancels)}, refunds ${n(s.refunds)}, over-refunds refused 409 ${s.overRefundsRefused}`,
    `  disruptions  worker SIGKILLs ${r.timeline.kills}, Redis restarts ${r.timeline.redisRestarts}, Postgres outages ${r.timeline.postgresOutages}`,
    `  fault windows ${r.timeline.faultWindows.join(', ') || 'none'}`,
    `  wallet QR    ${r.wallets.orders} orders, paid by their buyers ${r.wallets.paidByBuyer} (${r.wallets.wrongAmount} of them the wrong amount), ` +
      `could not pay ${r.wallets.gone}, still waiting ${r.wallets.waiting}`,
    `  notifications ${tally(r.notify.received)}; answers ${tally(r.notify.forwarded)}; duplicated ${tally(r.notify.duplicated)}; replayed out of order ${tally(r.notify.replayed)}`,
    `  HTTP         ${Object.entries(r.http.byStatus).sort().map(([k, v]) => `${k}: ${n(v)}`).join(', ')}`,
    `  during outages (intake): 202 ${o.accepted}, 503+Retry-After ${o.unavailableWithRetryAfter}, 503 without Retry-After ${o.unavailableWithout}, ` +
      `refused ${o.refused}, timeouts ${o.timeouts}, 5xx ${o.e500}, other ${o.other}`,
    `  503s seen ${n(r.http.byStatus['503'] ?? 0)}, 500s seen ${e500}`,
    '  invariants',
    ...r.checks.map((c) => `    ${c.pass ? 'PASS' : 'FAIL'}  ${c.name}: ${c.detail}`),
  ];
  const failed = r.checks.filter((c) => !c.pass);
  if (failed.length) {
    lines.push('  evidence');
    for (const c of failed) lines.push(`    ${c.name}:`, ...c.evidence.slice(0, 10).map((e) => `      ${e}`));
    lines.push(`  data and logs kept in ${r.dir}`);
  }
  return lines.join('\n');
}
