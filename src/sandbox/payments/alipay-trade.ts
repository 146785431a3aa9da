import { createHash } from 'node:crypto';
import { alipayTimestamp, signAlipayParams } from '../../payments/alipay.signing.js';
import { formatDecimal } from '../../payments/decimal-amount.js';
import type { Logger } from '../../logger.js';
import type { SandboxCredentials } from '../sandbox-credentials.js';
import { sendNotification, type BuyerAct, type ProviderCheckout } from './sandbox-http.js';
import { isPaid, randomDigits, type SandboxTrade } from './sandbox-trade.js';

/** How Alipay shows a trade: its fields, its states, its notifications and its return to the merchant. */

type Creds = SandboxCredentials['alipay'];

const digitsOf = (seed: string, n: number) => BigInt(`0x${createHash('sha256').update(seed).digest('hex')}`).toString().slice(0, n).padEnd(n, '0');

/** The merchant behind an app_auth_token: its own app id and seller id (2088...), stable per token. */
export function alipayMerchant(c: Creds, merchant: string): { authAppId: string; sellerId: string } {
  if (merchant === c.appId || merchant === '') return { authAppId: c.appId, sellerId: `2088${digitsOf(c.appId, 12)}` };
  return { authAppId: `2021${digitsOf(`app:${merchant}`, 12)}`, sellerId: `2088${digitsOf(`seller:${merchant}`, 12)}` };
}

export const yuan = (minor: number, currency: string) => formatDecimal(minor, currency);

/** Before its first scan a QR trade exists only as a code: Alipay answers ACQ.TRADE_NOT_EXIST for it. */
export const existsAtAlipay = (t: SandboxTrade) => t.flow !== 'precreate' || t.scannedAt !== null || t.status !== 'pending';

export function alipayTradeStatus(t: SandboxTrade): string {
  if (t.status === 'closed' || t.status === 'refunded') return 'TRADE_CLOSED';
  if (isPaid(t)) return 'TRADE_SUCCESS';
  return 'WAIT_BUYER_PAY';
}

const paid = (t: SandboxTrade) => isPaid(t);
const seenBuyer = (t: SandboxTrade) => t.scannedAt !== null || paid(t);

/** The fields of alipay.trade.query (and of the other answers that describe a trade). */
export function alipayTradeFields(t: SandboxTrade): Record<string, string> {
  const amount = paid(t) ? t.amountMinor : t.requestedMinor;
  return {
    trade_no: t.id, out_trade_no: t.reference, trade_status: alipayTradeStatus(t),
    total_amount: yuan(amount, t.currency),
    buyer_pay_amount: yuan(paid(t) ? t.amountMinor : 0, t.currency),
    receipt_amount: yuan(paid(t) ? t.amountMinor : 0, t.currency),
    ...(seenBuyer(t) ? { buyer_logon_id: 'sbx***@sandbox.example', buyer_user_id: `2088${digitsOf(`buyer:${t.id}`, 12)}` } : {}),
    ...(t.paidAt ? { send_pay_date: alipayTimestamp(new Date(t.paidAt)) } : {}),
    ...(t.currency !== 'CNY' ? { trans_currency: t.currency } : {}),
  };
}

/**
 * Parses Alipay's expiry: `time_expire` ("yyyy-MM-dd HH:mm:ss", Beijing time) or `timeout_express` ("90m",
 * "2h", "1d", "1c" for the end of today), 1 minute to 15 days. Undefined when absent, an Error when invalid.
 */
export function alipayExpiry(biz: Record<string, unknown>, now = Date.now()): Date | Error | undefined {
  if (typeof biz.time_expire === 'string') {
    const m = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}):?(\d{2})?$/.exec(biz.time_expire);
    const at = m ? Date.parse(`${m[1]}T${m[2]}:${m[3] ?? '00'}+08:00`) : NaN;
    return Number.isNaN(at) ? new Error('time_expire must be yyyy-MM-dd HH:mm:ss') : new Date(at);
  }
  if (typeof biz.timeout_express !== 'string') return undefined;
  const m = /^(\d+)([mhdc])$/.exec(biz.timeout_express);
  if (!m) return new Error('timeout_express must be like 90m, 2h, 1d or 1c');
  const n = Number(m[1]);
  if (m[2] === 'c') {
    const bj = new Date(now + 8 * 3600_000);
    return new Date(Date.UTC(bj.getUTCFullYear(), bj.getUTCMonth(), bj.getUTCDate() + 1) - 8 * 3600_000);
  }
  const ms = n * { m: 60_000, h: 3600_000, d: 86_400_000 }[m[2] as 'm' | 'h' | 'd'];
  return ms < 60_000 || ms > 15 * 86_400_000 ? new Error('timeout_express must be between 1m and 15d') : new Date(now + ms);
}

/** Parameters signed by "Alipay" the way the merchant verifies them: without sign and sign_type. */
function signed(c: Creds, params: Record<string, string>): Record<string, string> {
  const { sign_type: _omit, ...rest } = params;
  return { ...params, sign: signAlipayParams(rest, c.alipayPrivateKey) };
}

export function alipayCheckout(c: Creds, logger?: Logger): ProviderCheckout {
  const party = (t: SandboxTrade) => {
    const m = alipayMerchant(c, t.merchant);
    return { app_id: c.appId, auth_app_id: m.authAppId, seller_id: m.sellerId };
  };
  const notify = (t: SandboxTrade) => {
    const url = t.notifyUrl;
    if (!url) return;
    sendNotification(url, () => {
      const f = alipayTradeFields(t);
      const params = signed(c, {
        notify_time: alipayTimestamp(), notify_type: 'trade_status_sync', notify_id: `sbx${randomDigits(20)}`, charset: 'utf-8', version: '1.0',
        sign_type: 'RSA2', ...party(t), trade_no: f.trade_no!, out_trade_no: f.out_trade_no!, trade_status: f.trade_status!,
        total_amount: f.total_amount!, receipt_amount: f.receipt_amount!, buyer_pay_amount: f.buyer_pay_amount!, invoice_amount: f.receipt_amount!,
        point_amount: '0.00', buyer_id: f.buyer_user_id ?? '', buyer_logon_id: f.buyer_logon_id ?? '', subject: t.details.subject ?? '',
        gmt_create: alipayTimestamp(new Date(t.createdAt)), gmt_payment: f.send_pay_date ?? '',
        fund_bill_list: JSON.stringify([{ amount: f.buyer_pay_amount, fundChannel: 'ALIPAYACCOUNT' }]),
        ...(f.trans_currency ? { trans_currency: f.trans_currency } : {}),
      });
      return { headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' }, body: new URLSearchParams(params).toString() };
    }, logger);
  };
  return {
    label: 'Alipay',
    providerStatus: (t) => (existsAtAlipay(t) ? alipayTradeStatus(t) : 'NOT_SCANNED'),
    afterBuyer: (act: BuyerAct, t) => {
      // Alipay notifies a payment; a buyer who gives up leaves the trade waiting until it is closed or expires.
      if (act === 'paid') notify(t);
    },
    returnUrl: (act, t) => {
      const to = t.details.return_url;
      if (!to || act !== 'paid') return undefined;
      const method = t.flow === 'wap' ? 'alipay.trade.wap.pay.return' : 'alipay.trade.page.pay.return';
      const params = signed(c, {
        charset: 'utf-8', out_trade_no: t.reference, method, total_amount: yuan(t.amountMinor, t.currency), trade_no: t.id,
        ...party(t), version: '1.0', sign_type: 'RSA2', timestamp: alipayTimestamp(),
      });
      return `${to}${to.includes('?') ? '&' : '?'}${new URLSearchParams(params).toString()}`;
    },
  };
}
