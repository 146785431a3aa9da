import { Router, type Response } from 'express';
import { buildAlipayResponse, signAlipayParams, verifyAlipayParams } from '../../payments/alipay.signing.js';
import { formatDecimal, parseDecimal } from '../../payments/decimal-amount.js';
import { alipayTimestamp } from '../../payments/alipay.signing.js';
import type { SandboxCredentials } from '../sandbox-credentials.js';
import { bodyText, faultGate, hold, sendNotification } from './sandbox-http.js';
import { randomDigits, type SandboxCharge, type SandboxLedger } from './sandbox-ledger.js';
import type { Logger } from '../../logger.js';

/** The Alipay OpenAPI v2 gateway (`POST /alipay/gateway.do`): trade.pay, trade.query, trade.refund, refund query. */
export function alipaySandbox(deps: { ledger: SandboxLedger; credentials: SandboxCredentials['alipay']; logger?: Logger }): Router {
  const { ledger, credentials: c } = deps;
  const router = Router();
  const send = (res: Response, method: string, node: Record<string, unknown>) =>
    res.type('application/json; charset=utf-8').send(buildAlipayResponse(method, node, c.alipayPrivateKey));
  const fail = (res: Response, method: string, code: string, subCode: string, subMsg: string) =>
    send(res, method, { code, msg: code === '40004' ? 'Business Failed' : code === '20000' ? 'Service Currently Unavailable' : 'Invalid Arguments', sub_code: subCode, sub_msg: subMsg });
  const yuan = (minor: number, currency: string) => formatDecimal(minor, currency);
  const trade = (ch: SandboxCharge) => ({
    trade_no: ch.id, out_trade_no: ch.reference, buyer_logon_id: 'sbx***@sandbox.example', total_amount: yuan(ch.amountMinor, ch.currency),
    ...(ch.currency !== 'CNY' ? { trans_currency: ch.currency } : {}),
  });
  const paidAt = (ch: SandboxCharge) => alipayTimestamp(new Date(ch.createdAt));

  router.use(faultGate(ledger, 'alipay', (res, status) => res.status(status).type('text/plain').send('Service Unavailable')));

  router.post('/gateway.do', async (req, res) => {
    const params: Record<string, string> = { ...(req.query as Record<string, string>), ...Object.fromEntries(new URLSearchParams(bodyText(req))) };
    const method = params.method ?? '';
    if (params.app_id !== c.appId || params.sign_type !== 'RSA2' || !verifyAlipayParams(params, c.appPublicKey)) {
      return fail(res, method || 'error', '40002', 'isv.invalid-signature', '验签出错');
    }
    let biz: Record<string, string>;
    try {
      biz = JSON.parse(params.biz_content ?? '{}') as Record<string, string>;
    } catch {
      return fail(res, method, '40002', 'isv.invalid-parameter', 'biz_content is not JSON');
    }
    const currency = (biz.trans_currency ?? 'CNY').toUpperCase();

    if (method === 'alipay.trade.pay') {
      if (!biz.out_trade_no || !biz.auth_code || !biz.total_amount) return fail(res, method, '40002', 'isv.missing-parameter', 'out_trade_no, auth_code, total_amount');
      const out = await ledger.capture({
        method: 'alipay', reference: biz.out_trade_no, token: biz.auth_code, amountMinor: parseDecimal(biz.total_amount, currency), currency,
        newId: () => `${alipayTimestamp().slice(0, 10).replace(/-/g, '')}22001${randomDigits(15)}`,
      });
      if (out.kind === 'unavailable') return res.status(503).type('text/plain').send('Service Unavailable');
      if (out.kind === 'declined') return fail(res, method, '40004', 'ACQ.BUYER_BALANCE_NOT_ENOUGH', '买家余额不足');
      if (out.kind === 'mismatch') return fail(res, method, '40004', 'ACQ.CONTEXT_INCONSISTENT', '交易信息被篡改');
      // Paying a paid out_trade_no again is Alipay's ACQ.TRADE_HAS_SUCCESS: the merchant confirms by query.
      if (out.replay) return fail(res, method, '40004', 'ACQ.TRADE_HAS_SUCCESS', '交易已被支付');
      if (params.notify_url) notify(params.notify_url, out.charge);
      if (out.hang) return hold(res);
      return send(res, method, { code: '10000', msg: 'Success', ...trade(out.charge), receipt_amount: yuan(out.charge.amountMinor, out.charge.currency), gmt_payment: paidAt(out.charge) });
    }

    const charge = biz.out_trade_no ? await ledger.findCharge('alipay', biz.out_trade_no) : biz.trade_no ? await ledger.findChargeById('alipay', biz.trade_no) : undefined;
    if (method === 'alipay.trade.query') {
      if (!charge) return fail(res, method, '40004', 'ACQ.TRADE_NOT_EXIST', '交易不存在');
      const status = charge.status === 'refunded' ? 'TRADE_CLOSED' : 'TRADE_SUCCESS';
      return send(res, method, { code: '10000', msg: 'Success', ...trade(charge), trade_status: status, send_pay_date: paidAt(charge) });
    }
    if (method === 'alipay.trade.refund') {
      if (!charge) return fail(res, method, '40004', 'ACQ.TRADE_NOT_EXIST', '交易不存在');
      if (!biz.refund_amount) return fail(res, method, '40002', 'isv.missing-parameter', 'refund_amount');
      const out = await ledger.refund({
        method: 'alipay', chargeId: charge.id, refundKey: biz.out_request_no ?? charge.reference,
        amountMinor: parseDecimal(biz.refund_amount, charge.currency), newId: () => `alr_${randomDigits(24)}`,
      });
      if (out.kind === 'exceeded') return fail(res, method, '40004', 'ACQ.REFUND_AMT_NOT_EQUAL_TOTAL', '退款金额超限');
      if (out.kind === 'mismatch') return fail(res, method, '40004', 'ACQ.CONTEXT_INCONSISTENT', '退款请求号已使用，参数不一致');
      return send(res, method, {
        code: '10000', msg: 'Success', ...trade(out.charge), fund_change: out.replay ? 'N' : 'Y',
        refund_fee: yuan(out.charge.refundedMinor, out.charge.currency), gmt_refund_pay: alipayTimestamp(new Date(out.refund.createdAt)),
      });
    }
    if (method === 'alipay.trade.fastpay.refund.query') {
      if (!charge) return fail(res, method, '40004', 'ACQ.TRADE_NOT_EXIST', '交易不存在');
      const refund = await ledger.findRefund('alipay', biz.out_request_no ?? charge.reference);
      const base = { code: '10000', msg: 'Success', trade_no: charge.id, out_trade_no: charge.reference, out_request_no: biz.out_request_no };
      // No refund_status in the answer means "not refunded", as the real query says it.
      if (!refund || refund.chargeId !== charge.id) return send(res, method, base);
      return send(res, method, { ...base, total_amount: yuan(charge.amountMinor, charge.currency), refund_amount: yuan(refund.amountMinor, charge.currency), refund_status: 'REFUND_SUCCESS' });
    }
    return fail(res, method || 'error', '40002', 'isv.invalid-method', `unknown method ${method}`);
  });

  const notify = (url: string, ch: SandboxCharge) =>
    sendNotification(url, () => {
      const params: Record<string, string> = {
        notify_time: alipayTimestamp(), notify_type: 'trade_status_sync', notify_id: `sbx${randomDigits(20)}`, app_id: c.appId,
        charset: 'utf-8', version: '1.0', sign_type: 'RSA2', trade_status: 'TRADE_SUCCESS', gmt_payment: paidAt(ch),
        ...trade(ch), receipt_amount: yuan(ch.amountMinor, ch.currency),
      };
      const { sign_type: _omit, ...signed } = params;
      params.sign = signAlipayParams(signed, c.alipayPrivateKey);
      return { headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' }, body: new URLSearchParams(params).toString() };
    }, deps.logger);

  return router;
}
