import { PermanentError, TransientError } from '../domain/errors.js';
import type { Capture, CaptureLookup, CaptureRequest, PaymentGateway, RefundOutcome, RefundRequest } from '../domain/payment-gateway.js';
import { alipayNotifications } from './alipay.notification.js';
import { alipayTimestamp, signAlipayParams, verifyAlipayResponse, type AlipayParams } from './alipay.signing.js';
import { formatDecimal, parseDecimal } from './decimal-amount.js';
import { providerFetch } from './provider-http.js';

/** Alipay OpenAPI v2 (docs/providers.md section 1): bar-code pay with the shop's token as the buyer's auth_code. */
export interface AlipayGatewayOptions {
  /** Origin and path prefix of the gateway; requests go to `${baseUrl}/gateway.do`. */
  baseUrl: string;
  appId: string;
  /** The app's RSA2 private key (PEM or the console's bare base64 PKCS#8). */
  appPrivateKey: string;
  /** Alipay's public key: verifies responses and notifications. */
  alipayPublicKey: string;
  timeoutMs?: number;
  notifyUrl?: string;
  /** The clock that judges notifications' age; the real one unless a test replays an old notification. */
  now?: () => number;
}

type Node = Record<string, string | undefined>;

/** 40004 sub_codes that are not the buyer's payment being refused. */
const NOT_A_DECLINE = new Set(['ACQ.TRADE_HAS_SUCCESS', 'ACQ.SYSTEM_ERROR', 'ACQ.CONTEXT_INCONSISTENT', 'ACQ.INVALID_PARAMETER']);

export function createAlipayGateway(options: AlipayGatewayOptions): PaymentGateway {
  const call = async (method: string, biz: Record<string, unknown>, notify = false): Promise<Node> => {
    const params: AlipayParams = {
      app_id: options.appId,
      method,
      format: 'JSON',
      charset: 'utf-8',
      sign_type: 'RSA2',
      timestamp: alipayTimestamp(),
      version: '1.0',
      notify_url: notify ? options.notifyUrl : undefined,
      biz_content: JSON.stringify(biz),
    };
    params.sign = signAlipayParams(params, options.appPrivateKey);
    const body = new URLSearchParams(Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined));
    const res = await providerFetch('alipay', {
      method: 'POST',
      url: `${options.baseUrl}/gateway.do`,
      headers: { 'content-type': 'application/x-www-form-urlencoded;charset=utf-8' },
      body: body.toString(),
    }, options.timeoutMs);
    if (res.status !== 200) throw new PermanentError('provider_rejected', `alipay ${method} answered HTTP ${res.status}`);
    return verifiedNode(res.text, method, options.alipayPublicKey);
  };

  const gatewayError = (what: string, node: Node): Error => {
    const detail = `alipay ${what}: ${node.code} ${node.sub_code ?? ''} ${node.sub_msg ?? node.msg ?? ''}`.trim();
    if (node.code === '20000' || node.sub_code === 'ACQ.SYSTEM_ERROR') return new TransientError('provider_unavailable', detail, { ambiguous: true });
    return new PermanentError('provider_rejected', detail);
  };

  const lookup = async (req: CaptureRequest): Promise<CaptureLookup> => {
    const node = await call('alipay.trade.query', { out_trade_no: req.reference });
    if (node.code === '40004' && node.sub_code === 'ACQ.TRADE_NOT_EXIST') return { status: 'not_found' };
    if (node.code !== '10000') throw gatewayError('trade.query', node);
    const paid = node.trade_status === 'TRADE_SUCCESS' || node.trade_status === 'TRADE_FINISHED'
      // a fully refunded trade is TRADE_CLOSED too; only a paid one has a payment date
      || (node.trade_status === 'TRADE_CLOSED' && !!node.send_pay_date);
    if (paid) return captured(node, req.currency);
    if (node.trade_status === 'WAIT_BUYER_PAY') return { status: 'pending' };
    return { status: 'failed', reason: `alipay trade ${node.trade_status ?? 'unknown'}` };
  };

  return {
    method: 'alipay',
    lookup,
    async capture(req: CaptureRequest): Promise<Capture> {
      const node = await call('alipay.trade.pay', {
        out_trade_no: req.reference,
        scene: 'bar_code',
        auth_code: req.token,
        subject: req.description.slice(0, 256),
        total_amount: formatDecimal(req.amountMinor, req.currency),
        ...(req.currency.toUpperCase() !== 'CNY' ? { trans_currency: req.currency.toUpperCase() } : {}),
      }, true);
      if (node.code === '10000') return captured(node, req.currency);
      if (node.code === '10003') throw new TransientError('provider_unavailable', 'alipay: waiting for the buyer to confirm', { ambiguous: true });
      if (node.code === '40004' && node.sub_code === 'ACQ.TRADE_HAS_SUCCESS') {
        const found = await lookup(req);
        if (found.status === 'captured') return found;
      }
      if (node.code === '40004' && !NOT_A_DECLINE.has(node.sub_code ?? '')) {
        throw new PermanentError('payment_declined', `alipay declined: ${node.sub_code ?? ''} ${node.sub_msg ?? ''}`.trim());
      }
      throw gatewayError('trade.pay', node);
    },
    async refund(req: RefundRequest): Promise<RefundOutcome> {
      const node = await call('alipay.trade.refund', {
        out_trade_no: req.reference,
        refund_amount: formatDecimal(req.amountMinor, req.currency),
        out_request_no: req.refundId,
      });
      // fund_change is N on a replay of the same out_request_no: the refund is done all the same.
      if (node.code === '10000') return { status: 'succeeded', providerRefundId: req.refundId };
      if (node.code === '40004' && node.sub_code === 'ACQ.REFUND_AMT_NOT_EQUAL_TOTAL') return { status: 'failed', reason: 'amount_exceeded' };
      if (node.code === '40004' && node.sub_code !== 'ACQ.SYSTEM_ERROR') return { status: 'failed', reason: node.sub_code ?? 'refused' };
      throw gatewayError('trade.refund', node);
    },
    async lookupRefund(req: RefundRequest): Promise<RefundOutcome> {
      const node = await call('alipay.trade.fastpay.refund.query', { out_trade_no: req.reference, out_request_no: req.refundId });
      if (node.code === '10000' && node.refund_status === 'REFUND_SUCCESS') return { status: 'succeeded', providerRefundId: req.refundId };
      if (node.code === '10000' || node.sub_code === 'ACQ.TRADE_NOT_EXIST') return { status: 'failed', reason: 'not_found' };
      throw gatewayError('fastpay.refund.query', node);
    },
    ...alipayNotifications(options),
  };
}

function captured(node: Node, currency: string): Capture {
  return { status: 'captured', providerReference: node.trade_no ?? '', amountMinor: parseDecimal(node.total_amount ?? '0', currency) };
}

/**
 * The response node, trusted only once its signature verifies over the raw text. Alipay leaves `sign` out of
 * some error answers (no permission, a bad request signature): an unsigned answer is accepted only if it is
 * not a success, so a forged reply can at worst fail a payment, never fake one.
 */
function verifiedNode(raw: string, method: string, key: string): Node {
  const found = verifyAlipayResponse(raw, method, key);
  const node = found?.node.startsWith('{') ? (JSON.parse(found.node) as Node) : undefined;
  if (!found || !node) throw new TransientError('provider_unavailable', `alipay ${method}: unreadable answer`, { ambiguous: true });
  if (found.signature === 'invalid' || (found.signature === 'absent' && node.code === '10000')) {
    throw new PermanentError('provider_rejected', `alipay ${method}: the response signature did not verify`);
  }
  return node;
}
