import { Router, type Response } from 'express';
import { alipayTimestamp, buildAlipayResponse, verifyAlipayParams } from '../../payments/alipay.signing.js';
import { parseDecimal } from '../../payments/decimal-amount.js';
import type { Logger } from '../../logger.js';
import type { SandboxCredentials } from '../sandbox-credentials.js';
import { alipayCheckout, alipayExpiry, alipayTradeFields, existsAtAlipay, yuan } from './alipay-trade.js';
import { checkoutPage } from './checkout-page.js';
import { bodyText, checkoutUrl, faultGate, hold, type ProviderCheckout } from './sandbox-http.js';
import type { SandboxLedger } from './sandbox-ledger.js';
import { isPaid, randomAlnum, randomDigits, type SandboxTrade, type TradeFlow } from './sandbox-trade.js';

/**
 * The Alipay OpenAPI v2 gateway (`/alipay/gateway.do`): precreate (QR), page.pay and wap.pay (the buyer's
 * browser arrives with the merchant's signed request), trade.pay (payment code), query, close, cancel,
 * refund and refund query, each answered signed, with `app_auth_token` scoping a trade to a sub-merchant.
 */

type Biz = Record<string, unknown>;
interface Call { res: Response; method: string; params: Record<string, string>; biz: Biz; merchant: string }

const BROWSER_METHODS: Record<string, { flow: TradeFlow; productCode: string }> = {
  'alipay.trade.page.pay': { flow: 'page', productCode: 'FAST_INSTANT_TRADE_PAY' },
  'alipay.trade.wap.pay': { flow: 'wap', productCode: 'QUICK_WAP_WAY' },
};
const QR_VALID_MS = 2 * 3600_000;
const PAGE_VALID_MS = 15 * 86_400_000;
const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);

export function alipaySandbox(deps: { ledger: SandboxLedger; credentials: SandboxCredentials['alipay']; logger?: Logger }): { router: Router; checkout: ProviderCheckout } {
  const { ledger, credentials: c } = deps;
  const checkout = alipayCheckout(c, deps.logger);
  const router = Router();
  const send = (res: Response, method: string, node: Record<string, unknown>) =>
    res.type('application/json; charset=utf-8').send(buildAlipayResponse(method, node, c.alipayPrivateKey));
  const ok = (res: Response, method: string, node: Record<string, unknown>) => send(res, method, { code: '10000', msg: 'Success', ...node });
  const fail = (res: Response, method: string, code: string, subCode: string, subMsg: string) =>
    send(res, method, { code, msg: code === '40004' ? 'Business Failed' : code === '20000' ? 'Service Currently Unavailable' : 'Invalid Arguments', sub_code: subCode, sub_msg: subMsg });
  const notExist = (x: Call) => fail(x.res, x.method, '40004', 'ACQ.TRADE_NOT_EXIST', '交易不存在');
  const tradeNo = () => `${alipayTimestamp().slice(0, 10).replace(/-/g, '')}22001${randomDigits(15)}`;

  /** The trade named by out_trade_no or trade_no, if it is this merchant's (a partner sees only its own). */
  const scoped = async (x: Call): Promise<SandboxTrade | undefined> => {
    const t = str(x.biz.trade_no) ? await ledger.findChargeById('alipay', String(x.biz.trade_no))
      : str(x.biz.out_trade_no) ? await ledger.findTrade('alipay', String(x.biz.out_trade_no)) : undefined;
    return t && (t.merchant === x.merchant || (t.merchant === '' && x.merchant === c.appId)) ? t : undefined;
  };

  /** The checks every new trade's business parameters pass; the refusal's sub_code and message otherwise. */
  const newTrade = (x: Call, required: string[]) => {
    const missing = required.filter((k) => !str(x.biz[k]));
    if (missing.length) return { error: ['isv.missing-parameter', `缺少必选参数 ${missing.join(', ')}`] as const };
    const reference = String(x.biz.out_trade_no);
    if (reference.length > 64) return { error: ['ACQ.INVALID_PARAMETER', 'out_trade_no 超过 64 个字符'] as const };
    const currency = (str(x.biz.trans_currency) ?? 'CNY').toUpperCase();
    let requestedMinor: number;
    try {
      requestedMinor = parseDecimal(String(x.biz.total_amount), currency);
    } catch {
      return { error: ['ACQ.INVALID_PARAMETER', 'total_amount 格式错误'] as const };
    }
    if (requestedMinor <= 0) return { error: ['ACQ.INVALID_PARAMETER', 'total_amount 必须大于 0'] as const };
    const expiry = alipayExpiry(x.biz);
    if (expiry instanceof Error) return { error: ['ACQ.INVALID_PARAMETER', expiry.message] as const };
    return { reference, currency, requestedMinor, expiry };
  };

  /** Why an out_trade_no that already has a trade cannot open this one, if it cannot. */
  const conflict = (t: SandboxTrade, x: Call, flow: TradeFlow, requestedMinor: number, currency: string): [string, string] | undefined => {
    if (t.merchant !== x.merchant) return ['ACQ.CONTEXT_INCONSISTENT', '交易信息被篡改'];
    if (isPaid(t)) return ['ACQ.TRADE_HAS_SUCCESS', '交易已被支付'];
    if (t.status === 'closed') return ['ACQ.TRADE_HAS_CLOSE', '交易已经关闭'];
    if (t.flow !== flow || t.requestedMinor !== requestedMinor || t.currency !== currency) return ['ACQ.CONTEXT_INCONSISTENT', '交易信息被篡改'];
    return undefined;
  };

  const precreate = async (x: Call) => {
    const v = newTrade(x, ['out_trade_no', 'total_amount', 'subject']);
    if (v.error) return fail(x.res, x.method, '40004', v.error[0], v.error[1]);
    const { created, trade } = await ledger.open({
      method: 'alipay', reference: v.reference, tradeKey: v.reference, flow: 'precreate', merchant: x.merchant, requestedMinor: v.requestedMinor,
      currency: v.currency, newId: tradeNo, newCheckoutRef: () => `bax0${randomAlnum(20).toLowerCase()}`, notifyUrl: x.params.notify_url,
      expiresAt: v.expiry ?? new Date(Date.now() + QR_VALID_MS), details: { subject: String(x.biz.subject) },
    });
    const refused = created ? undefined : conflict(trade, x, 'precreate', v.requestedMinor, v.currency);
    if (refused) return fail(x.res, x.method, '40004', ...refused);
    return ok(x.res, x.method, { out_trade_no: trade.reference, qr_code: checkoutUrl(x.res, trade.checkoutRef!) });
  };

  /** page.pay and wap.pay arrive in the buyer's browser: a signed request opens the trade and shows the cashier. */
  const browserPay = async (x: Call) => {
    const product = BROWSER_METHODS[x.method]!;
    const v = newTrade(x, ['out_trade_no', 'total_amount', 'subject', 'product_code']);
    if (v.error) return errorPage(x.res, v.error[0], v.error[1]);
    if (x.biz.product_code !== product.productCode) return errorPage(x.res, 'ACQ.INVALID_PARAMETER', `product_code 应为 ${product.productCode}`);
    const { created, trade } = await ledger.open({
      method: 'alipay', reference: v.reference, tradeKey: v.reference, flow: product.flow, merchant: x.merchant, requestedMinor: v.requestedMinor,
      currency: v.currency, newId: tradeNo, newCheckoutRef: () => `alp0${randomAlnum(20).toLowerCase()}`, notifyUrl: x.params.notify_url,
      expiresAt: v.expiry ?? new Date(Date.now() + PAGE_VALID_MS),
      details: { subject: String(x.biz.subject), ...(x.params.return_url ? { return_url: x.params.return_url } : {}) },
    });
    const refused = created ? undefined : conflict(trade, x, product.flow, v.requestedMinor, v.currency);
    if (refused) return errorPage(x.res, ...refused);
    await ledger.markScanned(trade.checkoutRef!);
    return x.res.redirect(302, checkoutUrl(x.res, trade.checkoutRef!));
  };

  const pay = async (x: Call) => {
    const v = newTrade(x, ['out_trade_no', 'total_amount', 'auth_code', 'subject']);
    if (v.error) return fail(x.res, x.method, v.error[0] === 'isv.missing-parameter' ? '40002' : '40004', v.error[0], v.error[1]);
    const out = await ledger.capture({
      method: 'alipay', reference: v.reference, token: String(x.biz.auth_code), amountMinor: v.requestedMinor, currency: v.currency,
      newId: tradeNo, merchant: x.merchant, flow: 'bar_code', notifyUrl: x.params.notify_url, details: { subject: String(x.biz.subject) },
      newCheckoutRef: () => `alb0${randomAlnum(20).toLowerCase()}`,
    });
    if (out.kind === 'unavailable') return x.res.status(503).type('text/plain').send('Service Unavailable');
    if (out.kind === 'declined') return fail(x.res, x.method, '40004', 'ACQ.BUYER_BALANCE_NOT_ENOUGH', '买家余额不足');
    if (out.kind === 'closed') return fail(x.res, x.method, '40004', 'ACQ.TRADE_HAS_CLOSE', '交易已经关闭');
    if (out.kind === 'mismatch' || out.charge.merchant !== x.merchant) return fail(x.res, x.method, '40004', 'ACQ.CONTEXT_INCONSISTENT', '交易信息被篡改');
    const fields = alipayTradeFields(out.charge);
    // The buyer confirms on their phone: 10003, and the merchant queries (or cancels) until it is decided.
    if (out.kind === 'pending') return send(x.res, x.method, { code: '10003', msg: 'Waiting for user to pay', ...fields });
    // Paying a paid out_trade_no again is Alipay's ACQ.TRADE_HAS_SUCCESS: the merchant confirms by query.
    if (out.replay) return fail(x.res, x.method, '40004', 'ACQ.TRADE_HAS_SUCCESS', '交易已被支付');
    checkout.afterBuyer('paid', out.charge);
    if (out.hang) return hold(x.res);
    return ok(x.res, x.method, { ...fields, gmt_payment: fields.send_pay_date });
  };

  const query = async (x: Call) => {
    const t = await scoped(x);
    return t && existsAtAlipay(t) ? ok(x.res, x.method, alipayTradeFields(t)) : notExist(x);
  };

  const close = async (x: Call) => {
    const t = await scoped(x);
    if (!t || !existsAtAlipay(t)) return notExist(x);
    const r = await ledger.closeTrade(t.id);
    if (!r.closed) return fail(x.res, x.method, '40004', 'ACQ.TRADE_STATUS_ERROR', '交易状态不合法');
    return ok(x.res, x.method, { trade_no: t.id, out_trade_no: t.reference });
  };

  /** Cancel (撤销): an open trade is closed, a paid one refunded in full; one never seen is closed before it exists. */
  const cancel = async (x: Call) => {
    let t = await scoped(x);
    if (!t && str(x.biz.out_trade_no)) {
      const reference = String(x.biz.out_trade_no);
      const opened = await ledger.open({
        method: 'alipay', reference, tradeKey: reference, flow: 'bar_code', merchant: x.merchant, requestedMinor: 0, currency: 'CNY',
        newId: tradeNo, newCheckoutRef: () => `alc0${randomAlnum(20).toLowerCase()}`, closed: true,
      });
      if (opened.trade.merchant !== x.merchant) return notExist(x);
      t = opened.trade;
    }
    if (!t) return notExist(x);
    const answer = (action: string) => ok(x.res, x.method, { trade_no: t.id, out_trade_no: t.reference, retry_flag: 'N', action });
    if ((await ledger.closeTrade(t.id)).closed || t.status === 'closed') return answer('close');
    const now = (await ledger.findTradeById(t.id))!;
    if (now.amountMinor > now.refundedMinor) {
      await ledger.refund({ method: 'alipay', chargeId: now.id, refundKey: `cancel:${now.id}`, amountMinor: now.amountMinor - now.refundedMinor, newId: () => `alr_${randomDigits(24)}` });
    }
    return answer('refund');
  };

  const refund = async (x: Call) => {
    const t = await scoped(x);
    if (!t || !existsAtAlipay(t)) return notExist(x);
    if (!str(x.biz.refund_amount)) return fail(x.res, x.method, '40002', 'isv.missing-parameter', '缺少必选参数 refund_amount');
    let amountMinor: number;
    try {
      amountMinor = parseDecimal(String(x.biz.refund_amount), t.currency);
    } catch {
      return fail(x.res, x.method, '40004', 'ACQ.INVALID_PARAMETER', 'refund_amount 格式错误');
    }
    const out = await ledger.refund({ method: 'alipay', chargeId: t.id, refundKey: str(x.biz.out_request_no) ?? t.reference, amountMinor, newId: () => `alr_${randomDigits(24)}` });
    if (out.kind === 'not_paid') return fail(x.res, x.method, '40004', 'ACQ.TRADE_STATUS_ERROR', '交易状态不合法');
    if (out.kind === 'exceeded') return fail(x.res, x.method, '40004', 'ACQ.REFUND_AMT_NOT_EQUAL_TOTAL', '退款金额超限');
    if (out.kind === 'mismatch') return fail(x.res, x.method, '40004', 'ACQ.CONTEXT_INCONSISTENT', '退款请求号已使用，参数不一致');
    // A replay of a refund already made moves no money again: fund_change N.
    return ok(x.res, x.method, {
      trade_no: out.charge.id, out_trade_no: out.charge.reference, buyer_logon_id: 'sbx***@sandbox.example', fund_change: out.replay ? 'N' : 'Y',
      refund_fee: yuan(out.charge.refundedMinor, out.charge.currency), gmt_refund_pay: alipayTimestamp(new Date(out.refund.createdAt)),
    });
  };

  const refundQuery = async (x: Call) => {
    const t = await scoped(x);
    if (!t) return notExist(x);
    const r = await ledger.findRefund('alipay', str(x.biz.out_request_no) ?? t.reference);
    const base = { trade_no: t.id, out_trade_no: t.reference, out_request_no: str(x.biz.out_request_no) ?? t.reference };
    // No refund_status in the answer means "not refunded", as the real query says it.
    if (!r || r.chargeId !== t.id) return ok(x.res, x.method, base);
    return ok(x.res, x.method, { ...base, total_amount: yuan(t.amountMinor, t.currency), refund_amount: yuan(r.amountMinor, t.currency), refund_status: 'REFUND_SUCCESS' });
  };

  const handlers: Record<string, (x: Call) => Promise<unknown>> = {
    'alipay.trade.precreate': precreate, 'alipay.trade.page.pay': browserPay, 'alipay.trade.wap.pay': browserPay, 'alipay.trade.pay': pay,
    'alipay.trade.query': query, 'alipay.trade.close': close, 'alipay.trade.cancel': cancel, 'alipay.trade.refund': refund,
    'alipay.trade.fastpay.refund.query': refundQuery,
  };

  router.use(faultGate(ledger, 'alipay', (res, status) => res.status(status).type('text/plain').send('Service Unavailable')));

  router.all('/gateway.do', async (req, res) => {
    const params: Record<string, string> = { ...(req.query as Record<string, string>), ...Object.fromEntries(new URLSearchParams(bodyText(req))) };
    const method = params.method ?? '';
    const browser = method in BROWSER_METHODS;
    if (params.app_id !== c.appId || params.sign_type !== 'RSA2' || !verifyAlipayParams(params, c.appPublicKey)) {
      return browser ? errorPage(res, 'invalid-signature', '验签出错') : fail(res, method || 'error', '40002', 'isv.invalid-signature', '验签出错');
    }
    let biz: Biz;
    try {
      biz = JSON.parse(params.biz_content ?? '{}') as Biz;
    } catch {
      return browser ? errorPage(res, 'isv.invalid-parameter', 'biz_content is not JSON') : fail(res, method, '40002', 'isv.invalid-parameter', 'biz_content is not JSON');
    }
    const handler = handlers[method];
    if (!handler) return fail(res, method || 'error', '40002', 'isv.invalid-method', `不存在的方法名 ${method}`);
    await handler({ res, method, params, biz: biz ?? {}, merchant: params.app_auth_token || c.appId });
  });

  return { router, checkout };
}

/** What the buyer's browser sees when the merchant's signed request is refused (Alipay shows an error page). */
function errorPage(res: Response, code: string, message: string) {
  return res.status(400).type('html').send(checkoutPage({ title: 'Alipay: the payment request was refused', lines: [['Error code', code], ['Message', message]] }));
}
