import { PermanentError, TransientError } from '../domain/errors.js';
import type { ActionRequired, Capture, CaptureLookup, CaptureRequest, PaymentGateway, RefundOutcome, RefundRequest } from '../domain/payment-gateway.js';
import { createSign, randomBytes } from 'node:crypto';
import { parseJson, providerFetch } from './provider-http.js';
import { wechatPayNotifications } from './wechat-pay.notification.js';
import { buildWechatAuthorization, verifyWechatMessage } from './wechat-pay.signing.js';

/**
 * WeChat Pay API v3 (docs/providers.md section 2): Native (QR), JSAPI and H5 for the buyer-driven flows, and
 * payment-code pay (`codepay`, the shop's token as `payer.auth_code`) in store. A shop with its own merchant
 * account (`req.merchant`, a `sub_mchid`) is charged through the service-provider API (`/v3/pay/partner/...`
 * with `sp_mchid` = ours), so its money never passes through the platform's account.
 */
export interface WechatPayGatewayOptions {
  /** Origin of the API, e.g. https://api.mch.weixin.qq.com; paths start with /v3. */
  baseUrl: string;
  mchid: string;
  appid: string;
  /** Serial of the merchant API certificate whose private key signs requests. */
  merchantSerial: string;
  merchantPrivateKey: string;
  /** WeChat Pay's platform public key (or certificate key): verifies answers and callbacks. */
  platformPublicKey: string;
  /** When set, answers and callbacks signed under another serial are refused. */
  platformSerial?: string;
  /** The APIv3 key (32 characters) that decrypts callback resources. */
  apiV3Key: string;
  timeoutMs?: number;
  notifyUrl?: string;
  /** scene_info.store_info.out_id, required by codepay. */
  storeId?: string;
  /** The clock that judges callbacks' age; the real one unless a test replays an old callback. */
  now?: () => number;
}

interface Transaction {
  transaction_id?: string;
  out_trade_no?: string;
  trade_state?: string;
  trade_state_desc?: string;
  mchid?: string;
  sub_mchid?: string;
  amount?: { total?: number; payer_total?: number; currency?: string };
}

interface Answer<T> {
  status: number;
  json: T & { code?: string; message?: string };
}

/** Business refusals of a payment code (v2 micropay's list, which v3 keeps; thin, see README). */
const DECLINES = new Set(['NOTENOUGH', 'AUTHCODEEXPIRE', 'AUTH_CODE_INVALID', 'BUYER_MISMATCH', 'PAYERROR', 'TRADE_ERROR', 'USER_ACCOUNT_ABNORMAL']);

/** RFC 3339 in Beijing time, as WeChat Pay's `time_expire` is written in its docs. */
export function wechatTime(at: Date): string {
  // Whole seconds, rounded up: the trade never ends before the hold does.
  const b = new Date(Math.ceil(at.getTime() / 1000) * 1000 + 8 * 3600_000).toISOString().slice(0, 19);
  return `${b}+08:00`;
}

export function createWechatPayGateway(options: WechatPayGatewayOptions): PaymentGateway {
  const call = async <T>(method: 'GET' | 'POST', pathAndQuery: string, payload?: unknown): Promise<Answer<T>> => {
    const body = payload === undefined ? '' : JSON.stringify(payload);
    const authorization = buildWechatAuthorization({
      mchid: options.mchid, serialNo: options.merchantSerial, privateKey: options.merchantPrivateKey, method, pathAndQuery, body,
    });
    const res = await providerFetch('wechat_pay', {
      method,
      url: `${options.baseUrl}${pathAndQuery}`,
      headers: { authorization, accept: 'application/json', ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body } : {}),
    }, options.timeoutMs);
    const signed = verifyWechatMessage((n) => res.headers.get(n) ?? undefined, res.text, options.platformPublicKey, { serial: options.platformSerial });
    // An error answer may come unsigned; a success never may (a forged answer must not fake a payment).
    if (!signed && (res.status < 300 || res.headers.has('wechatpay-signature'))) {
      throw new PermanentError('provider_rejected', `wechat_pay ${pathAndQuery}: the response signature did not verify`);
    }
    return { status: res.status, json: parseJson<T & { code?: string; message?: string }>(res.text) ?? ({} as T & { code?: string }) };
  };

  const rejected = (what: string, a: Answer<unknown>) =>
    new PermanentError('provider_rejected', `wechat_pay ${what}: ${a.status} ${a.json.code ?? ''} ${a.json.message ?? ''}`.trim());
  const unavailable = (what: string, a: Answer<unknown>) =>
    new TransientError('provider_unavailable', `wechat_pay ${what}: ${a.status} ${a.json.code ?? ''}`.trim());

  /** Direct mode, or the service-provider mode acting for the shop's own merchant account. */
  const mode = (req: { merchant?: string | undefined }) => {
    const sub = req.merchant;
    return sub
      ? { base: '/v3/pay/partner/transactions', ids: { sp_appid: options.appid, sp_mchid: options.mchid, sub_mchid: sub }, query: `sp_mchid=${encodeURIComponent(options.mchid)}&sub_mchid=${encodeURIComponent(sub)}`, sub }
      : { base: '/v3/pay/transactions', ids: { appid: options.appid, mchid: options.mchid }, query: `mchid=${encodeURIComponent(options.mchid)}`, sub: undefined };
  };

  const fromTransaction = (t: Transaction): CaptureLookup => {
    if (t.trade_state === 'SUCCESS' || t.trade_state === 'REFUND') {
      return {
        status: 'captured',
        providerReference: t.transaction_id ?? '',
        amountMinor: t.amount?.payer_total ?? t.amount?.total ?? 0,
        currency: (t.amount?.currency ?? '').toUpperCase(),
        merchant: t.sub_mchid ?? t.mchid,
      };
    }
    if (t.trade_state === 'NOTPAY' || t.trade_state === 'USERPAYING') return { status: 'pending' };
    return { status: 'failed', reason: `wechat_pay trade ${t.trade_state ?? 'unknown'}` };
  };

  const lookup = async (req: CaptureRequest): Promise<CaptureLookup> => {
    const m = mode(req);
    const a = await call<Transaction>('GET', `${m.base}/out-trade-no/${encodeURIComponent(req.reference)}?${m.query}`);
    if (a.status === 404) return { status: 'not_found' };
    if (a.status >= 500 || a.status === 429) throw unavailable('query', a);
    if (a.status !== 200) throw rejected('query', a);
    return fromTransaction(a.json);
  };

  /** The JSAPI parameters the shop's page hands to `WeixinJSBridge` / `wx.requestPayment`, signed with our key. */
  const jsapiParams = (prepayId: string): Record<string, string> => {
    const timeStamp = String(Math.floor(Date.now() / 1000));
    const nonceStr = randomBytes(16).toString('hex');
    const pkg = `prepay_id=${prepayId}`;
    const paySign = createSign('RSA-SHA256').update(`${options.appid}\n${timeStamp}\n${nonceStr}\n${pkg}\n`).sign(options.merchantPrivateKey, 'base64');
    return { appId: options.appid, timeStamp, nonceStr, package: pkg, signType: 'RSA', paySign };
  };

  /** Native, JSAPI or H5: the trade is opened and waits for the buyer. The same request again answers the same trade. */
  const open = async (req: CaptureRequest): Promise<Capture | ActionRequired> => {
    const m = mode(req);
    const kind = req.flow === 'qr' ? 'native' : req.flow;
    const payer = req.flow === 'jsapi' ? { payer: m.sub ? { sp_openid: req.payer?.openid } : { openid: req.payer?.openid } } : {};
    const scene = req.flow === 'h5'
      ? { scene_info: { payer_client_ip: req.payer?.clientIp ?? '127.0.0.1', h5_info: { type: 'Wap' } } }
      : {};
    const a = await call<{ code_url?: string; prepay_id?: string; h5_url?: string }>('POST', `${m.base}/${kind}`, {
      ...m.ids,
      description: req.description.slice(0, 127),
      out_trade_no: req.reference,
      time_expire: wechatTime(req.expiresAt),
      notify_url: options.notifyUrl,
      amount: { total: req.amountMinor, currency: req.currency.toUpperCase() },
      ...payer,
      ...scene,
    });
    if (a.status === 200 && req.flow === 'qr' && a.json.code_url) return { status: 'action_required', action: { type: 'qr_code', qrContent: a.json.code_url } };
    if (a.status === 200 && req.flow === 'jsapi' && a.json.prepay_id) return { status: 'action_required', action: { type: 'jsapi', params: jsapiParams(a.json.prepay_id) }, trade: a.json.prepay_id };
    if (a.status === 200 && req.flow === 'h5' && a.json.h5_url) {
      const url = req.returnUrl ? `${a.json.h5_url}${a.json.h5_url.includes('?') ? '&' : '?'}redirect_url=${encodeURIComponent(req.returnUrl)}` : a.json.h5_url;
      return { status: 'action_required', action: { type: 'redirect', url } };
    }
    // Paid already (a retry after the buyer paid): the trade's record says how much.
    if (a.json.code === 'ORDERPAID') return captureOf(await lookup(req), 'ORDERPAID');
    if (a.status >= 500 || a.status === 429) throw unavailable(kind, a);
    throw rejected(kind, a);
  };

  const captureOf = (found: CaptureLookup, what: string): Capture => {
    if (found.status === 'captured') return found;
    throw new TransientError('provider_unavailable', `wechat_pay ${what}: trade ${found.status}`, { ambiguous: true });
  };

  const codepay = async (req: CaptureRequest): Promise<Capture> => {
    const m = mode(req);
    const a = await call<Transaction>('POST', `${m.base}/codepay`, {
      ...m.ids,
      description: req.description.slice(0, 127),
      out_trade_no: req.reference,
      payer: { auth_code: req.token },
      amount: { total: req.amountMinor, currency: req.currency.toUpperCase() },
      scene_info: { store_info: { out_id: options.storeId ?? 'online' } },
    });
    if (a.status === 202 || a.json.code === 'USERPAYING' || a.json.trade_state === 'USERPAYING') {
      throw new TransientError('provider_unavailable', 'wechat_pay: the payer is confirming; query before paying again', { ambiguous: true });
    }
    if (a.status === 200) {
      const found = fromTransaction(a.json);
      if (found.status === 'captured') return found;
      if (a.json.trade_state === 'PAYERROR') throw new PermanentError('payment_declined', `wechat_pay declined: ${a.json.trade_state_desc ?? ''}`.trim());
      throw new TransientError('provider_unavailable', `wechat_pay codepay: trade ${a.json.trade_state}`, { ambiguous: true });
    }
    if (DECLINES.has(a.json.code ?? '')) throw new PermanentError('payment_declined', `wechat_pay declined: ${a.json.code} ${a.json.message ?? ''}`.trim());
    if (a.status >= 500 || a.status === 429) throw unavailable('codepay', a);
    throw rejected('codepay', a);
  };

  const refundOutcome = (a: Answer<{ refund_id?: string; status?: string }>): RefundOutcome => {
    const s = a.json.status;
    if (s === 'SUCCESS') return { status: 'succeeded', providerRefundId: a.json.refund_id ?? '' };
    if (s === 'PROCESSING') return a.json.refund_id ? { status: 'pending', providerRefundId: a.json.refund_id } : { status: 'pending' };
    return { status: 'failed', reason: `wechat_pay refund ${s ?? 'unknown'}` };
  };

  return {
    method: 'wechat_pay',
    platformMerchant: options.mchid,
    lookup,
    capture: (req) => (req.flow === 'barcode' ? codepay(req) : open(req)),
    async close(req: CaptureRequest): Promise<CaptureLookup> {
      const found = await lookup(req);
      if (found.status !== 'pending') return found.status === 'not_found' ? { status: 'failed', reason: 'no trade was opened' } : found;
      const m = mode(req);
      // A payment code is reversed (codepay has no close); a Native/JSAPI/H5 trade is closed.
      const action = req.flow === 'barcode' ? 'reverse' : 'close';
      const a = await call('POST', `${m.base}/out-trade-no/${encodeURIComponent(req.reference)}/${action}`, m.sub ? { sp_mchid: options.mchid, sub_mchid: m.sub } : { mchid: options.mchid });
      if (a.status === 204 || a.status === 200) {
        // The close is the provider's word that nothing can be paid any more; the query says whether the buyer beat it.
        const after = await lookup(req);
        return after.status === 'captured' ? after : { status: 'failed', reason: `wechat_pay trade ${action === 'close' ? 'CLOSED' : 'REVOKED'}` };
      }
      if (a.json.code === 'ORDERPAID') return lookup(req);
      if (a.status >= 500 || a.status === 429) throw unavailable(action, a);
      throw rejected(action, a);
    },
    async refund(req: RefundRequest): Promise<RefundOutcome> {
      const a = await call<{ refund_id?: string; status?: string }>('POST', '/v3/refund/domestic/refunds', {
        ...(req.merchant ? { sub_mchid: req.merchant } : {}),
        out_trade_no: req.reference,
        out_refund_no: req.refundId,
        amount: { refund: req.amountMinor, total: req.capturedMinor, currency: req.currency.toUpperCase() },
        ...(options.notifyUrl ? { notify_url: options.notifyUrl } : {}),
      });
      if (a.status === 200) return refundOutcome(a);
      if (a.status === 401) throw rejected('refund', a);
      if (a.status >= 500 || a.status === 429) throw unavailable('refund', a);
      return { status: 'failed', reason: a.json.code === 'INVALID_REQUEST' && /exceed/i.test(a.json.message ?? '') ? 'amount_exceeded' : (a.json.code ?? `http_${a.status}`) };
    },
    async lookupRefund(req: RefundRequest): Promise<RefundOutcome> {
      const q = req.merchant ? `?sub_mchid=${encodeURIComponent(req.merchant)}` : '';
      const a = await call<{ refund_id?: string; status?: string }>('GET', `/v3/refund/domestic/refunds/${encodeURIComponent(req.refundId)}${q}`);
      if (a.status === 404) return { status: 'failed', reason: 'not_found' };
      if (a.status !== 200) throw rejected('refund query', a);
      return refundOutcome(a);
    },
    ...wechatPayNotifications(options),
  };
}
