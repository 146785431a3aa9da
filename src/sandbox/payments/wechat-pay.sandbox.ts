import { Router, type RequestHandler, type Response } from 'express';
import type { Logger } from '../../logger.js';
import { rsaVerify } from '../../payments/rsa.js';
import {
  WECHAT_MAX_SKEW_SECONDS, encryptWechatResource, parseWechatAuthorization, signWechatMessage, wechatRequestMessage,
} from '../../payments/wechat-pay.signing.js';
import { parseJson } from '../../payments/provider-http.js';
import type { SandboxCredentials } from '../sandbox-credentials.js';
import { bodyText, faultGate, hold, sendNotification } from './sandbox-http.js';
import { randomAlnum, randomDigits, type SandboxCharge, type SandboxLedger, type SandboxRefund } from './sandbox-ledger.js';

/** WeChat Pay API v3 under `/wechatpay/v3/...`: codepay, query by out_trade_no, domestic refunds. */
export function wechatPaySandbox(deps: { ledger: SandboxLedger; credentials: SandboxCredentials['wechatPay']; logger?: Logger }): Router {
  const { ledger, credentials: c } = deps;
  const router = Router();
  // Every answer is signed with the platform key, as the real API does.
  const send = (res: Response, status: number, json: unknown) => {
    const body = JSON.stringify(json);
    return res.status(status).set(signWechatMessage(body, c.platformPrivateKey, c.platformSerial)).type('application/json').send(body);
  };
  const error = (res: Response, status: number, code: string, message: string) => send(res, status, { code, message });

  const transaction = (ch: SandboxCharge) => ({
    appid: c.appid, mchid: c.mchid, out_trade_no: ch.reference, transaction_id: ch.id, trade_type: 'MICROPAY',
    trade_state: ch.refundedMinor > 0 ? 'REFUND' : 'SUCCESS', trade_state_desc: '支付成功', bank_type: 'OTHERS',
    success_time: new Date(ch.createdAt).toISOString().replace(/\.\d{3}Z$/, '+00:00'), payer: { openid: `o${ch.reference.slice(0, 27)}` },
    amount: { total: ch.amountMinor, payer_total: ch.amountMinor, currency: ch.currency, payer_currency: ch.currency },
  });
  const refundBody = (r: SandboxRefund, ch: SandboxCharge) => ({
    refund_id: r.id, out_refund_no: r.refundKey, transaction_id: ch.id, out_trade_no: ch.reference, channel: 'ORIGINAL',
    user_received_account: '支付用户零钱', status: 'SUCCESS', create_time: new Date(r.createdAt).toISOString(), success_time: new Date(r.createdAt).toISOString(),
    amount: { total: ch.amountMinor, refund: r.amountMinor, payer_total: ch.amountMinor, payer_refund: r.amountMinor, currency: ch.currency },
  });

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

  router.post('/v3/pay/transactions/codepay', async (req, res) => {
    const b = (parseJson(bodyText(req)) ?? {}) as { appid?: string; mchid?: string; out_trade_no?: string; payer?: { auth_code?: string }; amount?: { total?: number; currency?: string }; notify_url?: string };
    if (b.mchid !== c.mchid || b.appid !== c.appid) return error(res, 400, 'PARAM_ERROR', 'appid/mchid mismatch');
    if (!b.out_trade_no || !b.payer?.auth_code || !Number.isSafeInteger(b.amount?.total)) return error(res, 400, 'PARAM_ERROR', 'out_trade_no, payer.auth_code, amount.total required');
    const out = await ledger.capture({
      method: 'wechat_pay', reference: b.out_trade_no, token: b.payer.auth_code, amountMinor: b.amount!.total!, currency: b.amount?.currency ?? 'CNY',
      newId: () => `4200001${randomDigits(21)}`,
    });
    if (out.kind === 'unavailable') return error(res, 503, 'SERVICE_UNAVAILABLE', '服务不可用');
    if (out.kind === 'declined') return error(res, 403, 'NOTENOUGH', '用户余额不足');
    if (out.kind === 'mismatch') return error(res, 403, 'OUT_TRADE_NO_USED', '商户订单号重复');
    if (!out.replay && b.notify_url) notify(b.notify_url, out.charge);
    if (out.hang) return hold(res);
    return send(res, 200, transaction(out.charge));
  });

  router.get('/v3/pay/transactions/out-trade-no/:no', async (req, res) => {
    if (req.query.mchid !== c.mchid) return error(res, 400, 'PARAM_ERROR', 'mchid mismatch');
    const ch = await ledger.findCharge('wechat_pay', String(req.params.no));
    return ch ? send(res, 200, transaction(ch)) : error(res, 404, 'ORDER_NOT_EXIST', '订单不存在');
  });

  router.post('/v3/refund/domestic/refunds', async (req, res) => {
    const b = (parseJson(bodyText(req)) ?? {}) as { out_trade_no?: string; transaction_id?: string; out_refund_no?: string; amount?: { refund?: number; total?: number } };
    const ch = b.out_trade_no ? await ledger.findCharge('wechat_pay', b.out_trade_no) : b.transaction_id ? await ledger.findChargeById('wechat_pay', b.transaction_id) : undefined;
    if (!ch) return error(res, 404, 'RESOURCE_NOT_EXISTS', '订单不存在');
    if (!b.out_refund_no || !Number.isSafeInteger(b.amount?.refund)) return error(res, 400, 'PARAM_ERROR', 'out_refund_no, amount.refund required');
    if (b.amount?.total !== ch.amountMinor) return error(res, 400, 'PARAM_ERROR', 'amount.total does not match the order');
    const out = await ledger.refund({ method: 'wechat_pay', chargeId: ch.id, refundKey: b.out_refund_no, amountMinor: b.amount!.refund!, newId: () => `50300${randomDigits(24)}` });
    if (out.kind === 'exceeded') return error(res, 400, 'INVALID_REQUEST', 'refund amount exceeds the refundable amount');
    if (out.kind === 'mismatch') return error(res, 400, 'INVALID_REQUEST', 'out_refund_no already used with other parameters');
    return send(res, 200, refundBody(out.refund, out.charge));
  });

  router.get('/v3/refund/domestic/refunds/:no', async (req, res) => {
    const r = await ledger.findRefund('wechat_pay', String(req.params.no));
    const ch = r && (await ledger.findChargeById('wechat_pay', r.chargeId));
    return r && ch ? send(res, 200, refundBody(r, ch)) : error(res, 404, 'RESOURCE_NOT_EXISTS', '退款单不存在');
  });

  const notify = (url: string, ch: SandboxCharge) =>
    sendNotification(url, () => {
      const body = JSON.stringify({
        id: randomAlnum(36), create_time: new Date().toISOString(), resource_type: 'encrypt-resource', event_type: 'TRANSACTION.SUCCESS', summary: '支付成功',
        resource: encryptWechatResource(JSON.stringify(transaction(ch)), c.apiV3Key, 'transaction'),
      });
      return { headers: { 'content-type': 'application/json', ...signWechatMessage(body, c.platformPrivateKey, c.platformSerial) }, body };
    }, deps.logger);

  return router;
}
