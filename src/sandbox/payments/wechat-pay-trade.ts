import type { Logger } from '../../logger.js';
import { encryptWechatResource, signWechatMessage } from '../../payments/wechat-pay.signing.js';
import type { SandboxCredentials } from '../sandbox-credentials.js';
import { sendNotification, type ProviderCheckout } from './sandbox-http.js';
import { isPaid, randomAlnum, type SandboxTrade, type TradeFlow } from './sandbox-trade.js';

/** How WeChat Pay shows a trade: its transaction object (direct or service-provider mode), states, notifications. */

type Creds = SandboxCredentials['wechatPay'];

const TRADE_TYPE: Partial<Record<TradeFlow, string>> = { native: 'NATIVE', jsapi: 'JSAPI', h5: 'MWEB', codepay: 'MICROPAY' };
const STATE_DESC: Record<string, string> = {
  SUCCESS: '支付成功', REFUND: '转入退款', NOTPAY: '未支付', CLOSED: '已关闭', REVOKED: '已撤销（刷卡支付）', USERPAYING: '用户支付中（刷卡支付）', PAYERROR: '支付失败',
};

/** A partner trade carries its sub-merchant, and the service provider's appid in `details.sp_appid`. */
export const isPartnerTrade = (t: SandboxTrade) => t.details.mode === 'partner';

export function wechatTradeState(t: SandboxTrade): string {
  if (t.details.reversed) return 'REVOKED';
  if (t.status === 'refunded' || t.status === 'partially_refunded') return 'REFUND';
  if (isPaid(t)) return 'SUCCESS';
  if (t.status === 'closed') return t.flow === 'codepay' && t.declinedAt ? 'PAYERROR' : 'CLOSED';
  return t.flow === 'codepay' ? 'USERPAYING' : 'NOTPAY';
}

/** RFC 3339 with the +08:00 offset WeChat Pay writes its times in. */
export const wechatTime = (at: Date) => new Date(at.getTime() + 8 * 3600_000).toISOString().replace(/\.\d{3}Z$/, '+08:00');

/** The transaction object of the query answers and of TRANSACTION.SUCCESS notifications. */
export function wechatTransaction(c: Creds, t: SandboxTrade): Record<string, unknown> {
  const state = wechatTradeState(t);
  const paid = isPaid(t);
  const who = isPartnerTrade(t)
    ? { sp_appid: c.appid, sp_mchid: c.mchid, sub_mchid: t.merchant, ...(t.details.sub_appid ? { sub_appid: t.details.sub_appid } : {}) }
    : { appid: c.appid, mchid: c.mchid };
  const openid = t.details.openid ?? `o${t.id.slice(-27)}`;
  const payer = isPartnerTrade(t)
    ? { sp_openid: t.details.sp_openid ?? openid, ...(t.details.sub_openid ? { sub_openid: t.details.sub_openid } : {}) }
    : { openid };
  return {
    ...who, out_trade_no: t.reference, trade_state: state, trade_state_desc: STATE_DESC[state],
    ...(t.details.attach ? { attach: t.details.attach } : {}),
    ...(paid || state === 'REVOKED' ? {
      transaction_id: t.id, trade_type: TRADE_TYPE[t.flow] ?? 'NATIVE', bank_type: 'OTHERS', success_time: wechatTime(new Date(t.paidAt ?? t.createdAt)), payer,
    } : {}),
    amount: paid
      ? { total: t.amountMinor, payer_total: t.amountMinor, currency: t.currency, payer_currency: t.currency }
      : { total: t.requestedMinor, currency: t.currency, payer_currency: t.currency },
  };
}

/** `time_expire`: RFC 3339 with an offset; undefined when absent, an Error when not a time. */
export function wechatExpiry(value: unknown): Date | Error | undefined {
  if (value === undefined) return undefined;
  const ok = typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?([+-]\d{2}:\d{2}|Z)$/.test(value);
  return ok ? new Date(value) : new Error('time_expire must be RFC 3339, e.g. 2025-06-08T10:34:56+08:00');
}

/** Checks a merchant order number as WeChat Pay does: 6 to 32 of [0-9A-Za-z_-|*]. */
export function outTradeNoProblem(value: unknown): string | undefined {
  if (typeof value !== 'string' || value === '') return '缺少参数 out_trade_no';
  if (value.length > 32) return `输入源“/body/out_trade_no”映射到值字段“商户订单号”字符串规则校验失败，字节数 ${value.length}，大于最大值 32`;
  if (value.length < 6) return `输入源“/body/out_trade_no”映射到值字段“商户订单号”字符串规则校验失败，字节数 ${value.length}，小于最小值 6`;
  if (!/^[0-9A-Za-z_\-|*]+$/.test(value)) return '输入源“/body/out_trade_no”映射到值字段“商户订单号”字符串规则校验失败，只能是数字、大小写字母_-|*';
  return undefined;
}

export function wechatCheckout(c: Creds, logger?: Logger): ProviderCheckout {
  const notify = (t: SandboxTrade) => {
    // Payment-code trades get no notification: the cashier learns the outcome from the answer or a query.
    if (!t.notifyUrl || t.flow === 'codepay') return;
    sendNotification(t.notifyUrl, () => {
      const body = JSON.stringify({
        id: `${randomAlnum(8)}-${randomAlnum(4)}-${randomAlnum(4)}-${randomAlnum(4)}-${randomAlnum(12)}`.toLowerCase(),
        create_time: wechatTime(new Date()), resource_type: 'encrypt-resource', event_type: 'TRANSACTION.SUCCESS', summary: '支付成功',
        resource: encryptWechatResource(JSON.stringify(wechatTransaction(c, t)), c.apiV3Key, 'transaction'),
      });
      return { headers: { 'content-type': 'application/json', ...signWechatMessage(body, c.platformPrivateKey, c.platformSerial) }, body };
    }, logger);
  };
  return {
    label: 'WeChat Pay',
    providerStatus: wechatTradeState,
    afterBuyer: (act, t) => {
      // WeChat Pay notifies a payment only; a failed attempt leaves the trade NOTPAY (or PAYERROR) to be queried.
      if (act === 'paid') notify(t);
    },
    // H5: the merchant appends `redirect_url` to the h5_url; the buyer returns there whatever happened.
    returnUrl: (_act, t, redirectUrl) => (t.flow === 'h5' ? redirectUrl : undefined),
  };
}
