import { PermanentError, TransientError } from '../domain/errors.js';
import type { Capture, CaptureLookup, CaptureRequest, PaymentGateway, RefundOutcome, RefundRequest } from '../domain/payment-gateway.js';
import { parseJson, providerFetch } from './provider-http.js';
import { wechatPayNotifications } from './wechat-pay.notification.js';
import { buildWechatAuthorization, verifyWechatMessage } from './wechat-pay.signing.js';

/** WeChat Pay API v3 (docs/providers.md section 2): payment-code pay with the shop's token as payer.auth_code. */
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
  amount?: { total?: number; currency?: string };
}

interface Answer<T> {
  status: number;
  json: T & { code?: string; message?: string };
}

/** Business refusals of a payment code (v2 micropay's list, which v3 keeps; thin, see README). */
const DECLINES = new Set(['NOTENOUGH', 'AUTHCODEEXPIRE', 'AUTH_CODE_INVALID', 'BUYER_MISMATCH', 'PAYERROR', 'TRADE_ERROR', 'USER_ACCOUNT_ABNORMAL']);

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

  const fromTransaction = (t: Transaction): CaptureLookup => {
    if (t.trade_state === 'SUCCESS' || t.trade_state === 'REFUND') {
      return { status: 'captured', providerReference: t.transaction_id ?? '', amountMinor: t.amount?.total ?? 0 };
    }
    if (t.trade_state === 'NOTPAY' || t.trade_state === 'USERPAYING') return { status: 'pending' };
    return { status: 'failed', reason: `wechat_pay trade ${t.trade_state ?? 'unknown'}` };
  };

  const lookup = async (req: CaptureRequest): Promise<CaptureLookup> => {
    const a = await call<Transaction>('GET', `/v3/pay/transactions/out-trade-no/${encodeURIComponent(req.reference)}?mchid=${encodeURIComponent(options.mchid)}`);
    if (a.status === 404) return { status: 'not_found' };
    if (a.status !== 200) throw rejected('query', a);
    return fromTransaction(a.json);
  };

  const refundOutcome = (a: Answer<{ refund_id?: string; status?: string }>): RefundOutcome => {
    const s = a.json.status;
    if (s === 'SUCCESS') return { status: 'succeeded', providerRefundId: a.json.refund_id ?? '' };
    if (s === 'PROCESSING') return a.json.refund_id ? { status: 'pending', providerRefundId: a.json.refund_id } : { status: 'pending' };
    return { status: 'failed', reason: `wechat_pay refund ${s ?? 'unknown'}` };
  };

  return {
    method: 'wechat_pay',
    lookup,
    async capture(req: CaptureRequest): Promise<Capture> {
      const a = await call<Transaction>('POST', '/v3/pay/transactions/codepay', {
        appid: options.appid,
        mchid: options.mchid,
        description: req.description.slice(0, 127),
        out_trade_no: req.reference,
        payer: { auth_code: req.token },
        amount: { total: req.amountMinor, currency: req.currency.toUpperCase() },
        scene_info: { store_info: { out_id: options.storeId ?? 'online' } },
        ...(options.notifyUrl ? { notify_url: options.notifyUrl } : {}),
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
      throw rejected('codepay', a);
    },
    async refund(req: RefundRequest): Promise<RefundOutcome> {
      const a = await call<{ refund_id?: string; status?: string }>('POST', '/v3/refund/domestic/refunds', {
        out_trade_no: req.reference,
        out_refund_no: req.refundId,
        amount: { refund: req.amountMinor, total: req.capturedMinor, currency: req.currency.toUpperCase() },
        ...(options.notifyUrl ? { notify_url: options.notifyUrl } : {}),
      });
      if (a.status === 200) return refundOutcome(a);
      if (a.status === 401) throw rejected('refund', a);
      return { status: 'failed', reason: a.json.code === 'INVALID_REQUEST' && /exceed/i.test(a.json.message ?? '') ? 'amount_exceeded' : (a.json.code ?? `http_${a.status}`) };
    },
    async lookupRefund(req: RefundRequest): Promise<RefundOutcome> {
      const a = await call<{ refund_id?: string; status?: string }>('GET', `/v3/refund/domestic/refunds/${encodeURIComponent(req.refundId)}`);
      if (a.status === 404) return { status: 'failed', reason: 'not_found' };
      if (a.status !== 200) throw rejected('refund query', a);
      return refundOutcome(a);
    },
    ...wechatPayNotifications(options),
  };
}
