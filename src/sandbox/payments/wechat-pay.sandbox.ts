import { Router, type Request, type RequestHandler, type Response } from 'express';
import type { Logger } from '../../logger.js';
import { parseJson } from '../../payments/provider-http.js';
import { rsaVerify } from '../../payments/rsa.js';
import { WECHAT_MAX_SKEW_SECONDS, parseWechatAuthorization, signWechatMessage, wechatRequestMessage } from '../../payments/wechat-pay.signing.js';
import type { SandboxCredentials } from '../sandbox-credentials.js';
import { bodyText, checkoutUrl, faultGate, hold, type ProviderCheckout } from './sandbox-http.js';
import type { SandboxLedger } from './sandbox-ledger.js';
import { isPaid, randomAlnum, randomDigits, type SandboxRefund, type SandboxTrade } from './sandbox-trade.js';
import { isPartnerTrade, outTradeNoProblem, wechatCheckout, wechatExpiry, wechatTime, wechatTransaction } from './wechat-pay-trade.js';

/**
 * WeChat Pay API v3 under `/wechatpay/v3/...`, in direct mode (`/v3/pay/transactions/...`, appid + mchid)
 * and service-provider mode (`/v3/pay/partner/transactions/...`, sp_appid + sp_mchid + sub_mchid): Native,
 * JSAPI and H5 prepay, codepay and its reverse, query, close, domestic refunds. Every answer is signed with
 * the platform key, as the real API does.
 */

type Mode = 'direct' | 'partner';
/** A request body as sent: every field is checked before it is used. */
type Body = Record<string, any>;
const PREFIX: Record<Mode, string> = { direct: '/v3/pay/transactions', partner: '/v3/pay/partner/transactions' };
const PREPAY_VALID_MS = 2 * 3600_000;
const str = (v: unknown): v is string => typeof v === 'string' && v !== '';

export function wechatPaySandbox(deps: { ledger: SandboxLedger; credentials: SandboxCredentials['wechatPay']; logger?: Logger }): { router: Router; checkout: ProviderCheckout } {
  const { ledger, credentials: c } = deps;
  const checkout = wechatCheckout(c, deps.logger);
  const router = Router();
  const send = (res: Response, status: number, json: unknown) => {
    const body = JSON.stringify(json);
    return res.status(status).set(signWechatMessage(body, c.platformPrivateKey, c.platformSerial)).type('application/json').send(body);
  };
  const noContent = (res: Response) => res.status(204).set(signWechatMessage('', c.platformPrivateKey, c.platformSerial)).end();
  const error = (res: Response, status: number, code: string, message: string) => send(res, status, { code, message });
  const body = (req: Request): Body => parseJson<Body>(bodyText(req)) ?? {};
  const transactionId = () => `4200${randomDigits(6)}${new Date().toISOString().slice(0, 10).replace(/-/g, '')}${randomDigits(10)}`;
  const prepayId = () => `wx${new Date(Date.now() + 8 * 3600_000).toISOString().replace(/\D/g, '').slice(0, 14)}${randomAlnum(20).toLowerCase()}`;

  /** The merchant a request acts for: the platform's own mchid, or (partner mode) its sub-merchant. */
  const merchantOf = (mode: Mode, b: Body, appid = true): { merchant: string } | { code: string; message: string } => {
    if (mode === 'direct') {
      if (b.mchid !== c.mchid) return { code: 'PARAM_ERROR', message: 'mchid 与请求头中的商户号不一致' };
      if (appid && b.appid !== c.appid) return { code: 'APPID_MCHID_NOT_MATCH', message: 'appid 和 mchid 不匹配' };
      return { merchant: c.mchid };
    }
    if (b.sp_mchid !== c.mchid) return { code: 'PARAM_ERROR', message: 'sp_mchid 与请求头中的商户号不一致' };
    if (appid && b.sp_appid !== c.appid) return { code: 'APPID_MCHID_NOT_MATCH', message: 'sp_appid 和 sp_mchid 不匹配' };
    return str(b.sub_mchid) ? { merchant: b.sub_mchid } : { code: 'PARAM_ERROR', message: '缺少参数 sub_mchid' };
  };
  const mine = (t: SandboxTrade | undefined, mode: Mode, merchant: string) =>
    t && (mode === 'partner' ? isPartnerTrade(t) && t.merchant === merchant : !isPartnerTrade(t) && (t.merchant === merchant || t.merchant === '')) ? t : undefined;
  /** The trade of a path's out_trade_no, for a query string or body naming its merchant. */
  const pathTrade = async (mode: Mode, req: Request, who: Body) => {
    const m = merchantOf(mode, who, false);
    if ('code' in m) return m;
    return { trade: mine(await ledger.findTrade('wechat_pay', String(req.params.no)), mode, m.merchant) };
  };

  const authenticate: RequestHandler = (req, res, next) => {
    const auth = parseWechatAuthorization(req.get('authorization'));
    const fresh = auth && Math.abs(Date.now() / 1000 - Number(auth.timestamp)) < WECHAT_MAX_SKEW_SECONDS;
    const message = auth && wechatRequestMessage(req.method, req.url, auth.timestamp, auth.nonce_str, bodyText(req));
    if (!auth || !fresh || auth.mchid !== c.mchid || auth.serial_no !== c.merchantSerial || !rsaVerify(message!, auth.signature, c.merchantPublicKey)) {
      return error(res, 401, 'SIGN_ERROR', '签名错误');
    }
    next();
  };
  router.use(faultGate(ledger, 'wechat_pay', (res, status) =>
    status === 429 ? error(res, 429, 'FREQUENCY_LIMITED', '频率超限') : error(res, 500, 'SYSTEM_ERROR', '系统错误')));
  router.use(authenticate);

  /** Native, JSAPI and H5: a trade that waits for the buyer, who reaches it through the code, the prepay id or the link. */
  const prepay = (mode: Mode, flow: 'native' | 'jsapi' | 'h5') => async (req: Request, res: Response) => {
    const b = body(req);
    const who = merchantOf(mode, b);
    if ('code' in who) return error(res, 400, who.code, who.message);
    const problem = outTradeNoProblem(b.out_trade_no) ?? checkPrepay(mode, flow, b);
    if (problem) return error(res, 400, 'PARAM_ERROR', problem);
    const expiry = wechatExpiry(b.time_expire);
    if (expiry instanceof Error) return error(res, 400, 'PARAM_ERROR', expiry.message);
    const payer: Body = b.payer ?? {};
    const details: Record<string, string> = {
      description: b.description, mode,
      ...(str(b.attach) ? { attach: b.attach } : {}), ...(str(b.sub_appid) ? { sub_appid: b.sub_appid } : {}),
      ...(str(payer.openid) ? { openid: payer.openid } : {}), ...(str(payer.sp_openid) ? { sp_openid: payer.sp_openid } : {}),
      ...(str(payer.sub_openid) ? { sub_openid: payer.sub_openid } : {}),
    };
    const { created, trade } = await ledger.open({
      method: 'wechat_pay', reference: b.out_trade_no, tradeKey: b.out_trade_no, flow, merchant: who.merchant, requestedMinor: b.amount.total,
      currency: b.amount.currency ?? 'CNY', newId: transactionId, newCheckoutRef: prepayId, notifyUrl: b.notify_url,
      expiresAt: expiry ?? new Date(Date.now() + PREPAY_VALID_MS), details,
    });
    if (!created) {
      if (isPaid(trade)) return error(res, 400, 'ORDERPAID', '该订单已支付');
      if (trade.status === 'closed') return error(res, 400, 'ORDER_CLOSED', '订单已关闭');
      const same = trade.merchant === who.merchant && trade.flow === flow && trade.requestedMinor === b.amount.total && trade.details.description === b.description;
      if (!same) return error(res, 403, 'OUT_TRADE_NO_USED', '商户订单号重复');
    }
    const ref = trade.checkoutRef!;
    if (flow === 'native') return send(res, 200, { code_url: checkoutUrl(res, ref) });
    if (flow === 'jsapi') return send(res, 200, { prepay_id: ref });
    return send(res, 200, { h5_url: `${checkoutUrl(res, ref)}?${new URLSearchParams({ prepay_id: ref, package: randomDigits(10) })}` });
  };

  /** Payment code: paid at once, or (tok_pending) the buyer confirms on their phone. No notification, ever. */
  const codepay = (mode: Mode) => async (req: Request, res: Response) => {
    const b = body(req);
    const who = merchantOf(mode, b);
    if ('code' in who) return error(res, 400, who.code, who.message);
    const problem = outTradeNoProblem(b.out_trade_no)
      ?? (!str(b.payer?.auth_code) ? '缺少参数 payer.auth_code' : !Number.isSafeInteger(b.amount?.total) || b.amount.total <= 0 ? '缺少参数 amount.total'
        : !str(b.scene_info?.store_info?.out_id) ? '缺少参数 scene_info.store_info.out_id' : undefined);
    if (problem) return error(res, 400, 'PARAM_ERROR', problem);
    const out = await ledger.capture({
      method: 'wechat_pay', reference: b.out_trade_no, token: b.payer.auth_code, amountMinor: b.amount.total, currency: b.amount.currency ?? 'CNY',
      newId: transactionId, merchant: who.merchant, flow: 'codepay', details: { description: String(b.description ?? ''), mode }, newCheckoutRef: prepayId,
    });
    if (out.kind === 'unavailable') return error(res, 503, 'SERVICE_UNAVAILABLE', '服务不可用');
    if (out.kind === 'declined') return error(res, 403, 'NOTENOUGH', '用户余额不足');
    if (out.kind === 'closed') return error(res, 400, 'ORDER_CLOSED', '订单已关闭');
    if (out.kind === 'mismatch' || out.charge.merchant !== who.merchant) return error(res, 403, 'OUT_TRADE_NO_USED', '商户订单号重复');
    if (out.kind === 'pending') return error(res, 202, 'USERPAYING', '需要用户输入支付密码');
    if (out.hang) return hold(res);
    return send(res, 200, wechatTransaction(c, out.charge));
  };

  const query = (mode: Mode) => async (req: Request, res: Response) => {
    const found = await pathTrade(mode, req, req.query as Body);
    if ('code' in found) return error(res, 400, found.code, found.message);
    return found.trade ? send(res, 200, wechatTransaction(c, found.trade)) : error(res, 404, 'ORDER_NOT_EXIST', '订单不存在');
  };

  const queryById = (mode: Mode) => async (req: Request, res: Response) => {
    const m = merchantOf(mode, req.query as Body, false);
    if ('code' in m) return error(res, 400, m.code, m.message);
    const t = mine(await ledger.findChargeById('wechat_pay', String(req.params.id)), mode, m.merchant);
    // Only a paid trade has a transaction_id to be found by.
    return t && t.paidAt ? send(res, 200, wechatTransaction(c, t)) : error(res, 404, 'ORDER_NOT_EXIST', '订单不存在');
  };

  const close = (mode: Mode) => async (req: Request, res: Response) => {
    const found = await pathTrade(mode, req, body(req));
    if ('code' in found) return error(res, 400, found.code, found.message);
    if (!found.trade) return error(res, 404, 'ORDER_NOT_EXIST', '订单不存在');
    const r = await ledger.closeTrade(found.trade.id);
    if (!r.closed && r.trade && isPaid(r.trade)) return error(res, 400, 'ORDERPAID', '订单已支付，不能关单');
    return noContent(res);
  };

  /** Reverse (撤销) a payment-code trade: closed if unpaid, refunded in full if paid; REVOKED either way. */
  const reverse = (mode: Mode) => async (req: Request, res: Response) => {
    const found = await pathTrade(mode, req, body(req));
    if ('code' in found) return error(res, 400, found.code, found.message);
    const t = found.trade;
    if (!t) return error(res, 404, 'ORDER_NOT_EXIST', '订单不存在');
    if (t.flow !== 'codepay') return error(res, 400, 'INVALID_REQUEST', '只有付款码支付的订单可以撤销');
    await ledger.closeTrade(t.id);
    const now = (await ledger.findTradeById(t.id))!;
    if (isPaid(now) && now.amountMinor > now.refundedMinor) {
      await ledger.refund({ method: 'wechat_pay', chargeId: now.id, refundKey: `reverse:${now.id}`, amountMinor: now.amountMinor - now.refundedMinor, newId: () => `50300${randomDigits(24)}` });
    }
    await ledger.updateTrade(t.id, { details: { reversed: 'true' } });
    return noContent(res);
  };

  for (const mode of ['direct', 'partner'] as const) {
    const p = PREFIX[mode];
    router.post(`${p}/native`, prepay(mode, 'native'));
    router.post(`${p}/jsapi`, prepay(mode, 'jsapi'));
    router.post(`${p}/h5`, prepay(mode, 'h5'));
    router.post(`${p}/codepay`, codepay(mode));
    router.get(`${p}/out-trade-no/:no`, query(mode));
    router.get(`${p}/id/:id`, queryById(mode));
    router.post(`${p}/out-trade-no/:no/close`, close(mode));
    router.post(`${p}/out-trade-no/:no/reverse`, reverse(mode));
  }

  const refundBody = (r: SandboxRefund, t: SandboxTrade) => ({
    refund_id: r.id, out_refund_no: r.refundKey, transaction_id: t.id, out_trade_no: t.reference, channel: 'ORIGINAL',
    user_received_account: '支付用户零钱', status: 'SUCCESS', create_time: wechatTime(new Date(r.createdAt)), success_time: wechatTime(new Date(r.createdAt)),
    amount: { total: t.amountMinor, refund: r.amountMinor, payer_total: t.amountMinor, payer_refund: r.amountMinor, currency: t.currency },
  });
  /** Refunds act for the platform's mchid, or for the sub-merchant a partner names in `sub_mchid`. */
  const refundScope = (sub: unknown): [Mode, string] => (str(sub) ? ['partner', sub] : ['direct', c.mchid]);

  router.post('/v3/refund/domestic/refunds', async (req, res) => {
    const b = body(req);
    const [mode, merchant] = refundScope(b.sub_mchid);
    const t = mine(str(b.out_trade_no) ? await ledger.findTrade('wechat_pay', b.out_trade_no) : str(b.transaction_id) ? await ledger.findChargeById('wechat_pay', b.transaction_id) : undefined, mode, merchant);
    if (!t) return error(res, 404, 'RESOURCE_NOT_EXISTS', '订单不存在');
    if (!str(b.out_refund_no) || !Number.isSafeInteger(b.amount?.refund)) return error(res, 400, 'PARAM_ERROR', '缺少参数 out_refund_no 或 amount.refund');
    if (b.amount?.total !== t.amountMinor) return error(res, 400, 'PARAM_ERROR', '订单金额 amount.total 与原订单不一致');
    const out = await ledger.refund({ method: 'wechat_pay', chargeId: t.id, refundKey: b.out_refund_no, amountMinor: b.amount.refund, newId: () => `50300${randomDigits(24)}` });
    if (out.kind === 'not_paid') return error(res, 400, 'INVALID_REQUEST', '订单未支付，不能退款');
    if (out.kind === 'exceeded') return error(res, 400, 'INVALID_REQUEST', '申请退款金额超过订单可退金额');
    if (out.kind === 'mismatch') return error(res, 400, 'INVALID_REQUEST', 'out_refund_no 已被使用，参数与原退款不一致');
    return send(res, 200, refundBody(out.refund, out.charge));
  });

  router.get('/v3/refund/domestic/refunds/:no', async (req, res) => {
    const [mode, merchant] = refundScope(req.query.sub_mchid);
    const r = await ledger.findRefund('wechat_pay', String(req.params.no));
    const t = r && mine(await ledger.findChargeById('wechat_pay', r.chargeId), mode, merchant);
    return r && t ? send(res, 200, refundBody(r, t)) : error(res, 404, 'RESOURCE_NOT_EXISTS', '退款单不存在');
  });

  return { router, checkout };
}

/** The fields Native, JSAPI and H5 need beyond the merchant and the order number. */
function checkPrepay(mode: Mode, flow: 'native' | 'jsapi' | 'h5', b: Body): string | undefined {
  if (!str(b.description)) return '缺少参数 description';
  if (Buffer.byteLength(b.description) > 127) return 'description 超过 127 字节';
  if (!str(b.notify_url) || !URL.canParse(b.notify_url)) return '缺少参数 notify_url，或不是 URL';
  if (!Number.isSafeInteger(b.amount?.total) || b.amount.total <= 0) return 'amount.total 必须为正整数（分）';
  if ((b.amount.currency ?? 'CNY') !== 'CNY') return 'amount.currency 只支持 CNY';
  if (flow === 'jsapi') {
    const payer: Body = b.payer ?? {};
    if (mode === 'direct' && !str(payer.openid)) return '缺少参数 payer.openid';
    if (mode === 'partner' && !str(payer.sp_openid) && !(str(payer.sub_openid) && str(b.sub_appid))) return '缺少参数 payer.sp_openid（或 payer.sub_openid 与 sub_appid）';
  }
  if (flow === 'h5' && (!str(b.scene_info?.payer_client_ip) || !str(b.scene_info?.h5_info?.type))) return '缺少参数 scene_info.payer_client_ip 或 scene_info.h5_info.type';
  return undefined;
}
