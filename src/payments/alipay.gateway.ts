import { PermanentError, TransientError } from '../domain/errors.js';
import type { ActionRequired, Capture, CaptureLookup, CaptureRequest, PaymentGateway, RefundOutcome, RefundRequest } from '../domain/payment-gateway.js';
import { alipayNotifications } from './alipay.notification.js';
import { alipayTimestamp, signAlipayParams, verifyAlipayResponse, type AlipayParams } from './alipay.signing.js';
import { formatDecimal, parseDecimal } from './decimal-amount.js';
import { providerFetch } from './provider-http.js';

/**
 * Alipay OpenAPI v2 (docs/providers.md section 1): precreate (QR) and page/wap pay (redirect) for the buyer-driven
 * flows, bar-code pay (the shop's token as the buyer's auth_code) in store. A shop with its own merchant account
 * (`req.merchant`, an `app_auth_token`) is charged on its behalf, so its money never passes through ours.
 */
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

/** Alipay's expiry has whole seconds: rounded up, so the trade never ends before the hold does. */
const ceilSecond = (at: Date) => new Date(Math.ceil(at.getTime() / 1000) * 1000);

/** 40004 sub_codes that are not the buyer's payment being refused. */
const NOT_A_DECLINE = new Set(['ACQ.TRADE_HAS_SUCCESS', 'ACQ.SYSTEM_ERROR', 'ACQ.CONTEXT_INCONSISTENT', 'ACQ.INVALID_PARAMETER']);

export function createAlipayGateway(options: AlipayGatewayOptions): PaymentGateway {
  const signed = (method: string, biz: Record<string, unknown>, extra: AlipayParams): URLSearchParams => {
    const params: AlipayParams = {
      app_id: options.appId,
      method,
      format: 'JSON',
      charset: 'utf-8',
      sign_type: 'RSA2',
      timestamp: alipayTimestamp(),
      version: '1.0',
      ...extra,
      biz_content: JSON.stringify(biz),
    };
    params.sign = signAlipayParams(params, options.appPrivateKey);
    return new URLSearchParams(Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined));
  };
  const call = async (method: string, biz: Record<string, unknown>, merchant: string | undefined, notify = false): Promise<Node> => {
    const body = signed(method, biz, { notify_url: notify ? options.notifyUrl : undefined, app_auth_token: merchant });
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
    const node = await call('alipay.trade.query', { out_trade_no: req.reference }, req.merchant);
    if (node.code === '40004' && node.sub_code === 'ACQ.TRADE_NOT_EXIST') return { status: 'not_found' };
    if (node.code !== '10000') throw gatewayError('trade.query', node);
    const paid = node.trade_status === 'TRADE_SUCCESS' || node.trade_status === 'TRADE_FINISHED'
      // a fully refunded trade is TRADE_CLOSED too; only a paid one has a payment date
      || (node.trade_status === 'TRADE_CLOSED' && !!node.send_pay_date);
    if (paid) return captured(node, req.currency);
    if (node.trade_status === 'WAIT_BUYER_PAY') return { status: 'pending' };
    return { status: 'failed', reason: `alipay trade ${node.trade_status ?? 'unknown'}` };
  };

  const lookupRefund = async (req: RefundRequest): Promise<RefundOutcome> => {
    const node = await call('alipay.trade.fastpay.refund.query', { out_trade_no: req.reference, out_request_no: req.refundId }, req.merchant);
    if (node.code === '10000' && node.refund_status === 'REFUND_SUCCESS') return { status: 'succeeded', providerRefundId: req.refundId };
    if (node.code === '10000' || node.sub_code === 'ACQ.TRADE_NOT_EXIST') return { status: 'failed', reason: 'not_found' };
    throw gatewayError('fastpay.refund.query', node);
  };

  const amount = (req: CaptureRequest) => ({
    total_amount: formatDecimal(req.amountMinor, req.currency),
    ...(req.currency.toUpperCase() !== 'CNY' ? { trans_currency: req.currency.toUpperCase() } : {}),
  });

  const barcode = async (req: CaptureRequest): Promise<Capture> => {
    const node = await call('alipay.trade.pay', {
      out_trade_no: req.reference,
      scene: 'bar_code',
      auth_code: req.token,
      subject: req.description.slice(0, 256),
      ...amount(req),
    }, req.merchant, true);
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
  };

  /** `alipay.trade.precreate`: a QR code the buyer scans; it expires with the hold (`time_expire`). */
  const precreate = async (req: CaptureRequest): Promise<Capture | ActionRequired> => {
    const node = await call('alipay.trade.precreate', {
      out_trade_no: req.reference,
      subject: req.description.slice(0, 256),
      time_expire: alipayTimestamp(ceilSecond(req.expiresAt)),
      ...amount(req),
    }, req.merchant, true);
    if (node.code === '10000' && node.qr_code) return { status: 'action_required', action: { type: 'qr_code', qrContent: node.qr_code } };
    if (node.sub_code === 'ACQ.TRADE_HAS_SUCCESS') {
      const found = await lookup(req);
      if (found.status === 'captured') return found;
    }
    throw gatewayError('trade.precreate', node);
  };

  /**
   * `alipay.trade.page.pay` (`wap.pay` on a phone) is not a call: it is the signed request the buyer's browser
   * carries to Alipay, which opens the trade there. Nothing is sent from here.
   */
  const pagePay = (req: CaptureRequest): ActionRequired => {
    const wap = req.payer?.device === 'mobile';
    const params = signed(wap ? 'alipay.trade.wap.pay' : 'alipay.trade.page.pay', {
      out_trade_no: req.reference,
      subject: req.description.slice(0, 256),
      product_code: wap ? 'QUICK_WAP_WAY' : 'FAST_INSTANT_TRADE_PAY',
      time_expire: alipayTimestamp(ceilSecond(req.expiresAt)),
      ...amount(req),
    }, { notify_url: options.notifyUrl, return_url: req.returnUrl, app_auth_token: req.merchant });
    return { status: 'action_required', action: { type: 'redirect', url: `${options.baseUrl}/gateway.do?${params.toString()}` } };
  };

  return {
    method: 'alipay',
    platformMerchant: options.appId,
    lookup,
    capture: (req) => (req.flow === 'barcode' ? barcode(req) : req.flow === 'qr' ? precreate(req) : Promise.resolve(pagePay(req))),
    async close(req: CaptureRequest): Promise<CaptureLookup> {
      const found = await lookup(req);
      if (found.status === 'captured' || found.status === 'failed') return found;
      // A precreated code that was never scanned is no trade yet (close answers TRADE_NOT_EXIST) and stays
      // payable until it expires: cancel stops it for good (and would refund a payment that beat it).
      const node = await call(found.status === 'pending' ? 'alipay.trade.close' : 'alipay.trade.cancel', { out_trade_no: req.reference }, req.merchant);
      if (node.code !== '10000' && node.sub_code !== 'ACQ.TRADE_STATUS_ERROR' && node.sub_code !== 'ACQ.TRADE_NOT_EXIST') throw gatewayError('trade.close', node);
      const after = await lookup(req);
      if (after.status === 'captured' && node.action !== 'refund') return after;
      return { status: 'failed', reason: node.action === 'refund' ? 'alipay trade cancelled and refunded' : 'alipay trade closed' };
    },
    async refund(req: RefundRequest): Promise<RefundOutcome> {
      const node = await call('alipay.trade.refund', {
        out_trade_no: req.reference,
        refund_amount: formatDecimal(req.amountMinor, req.currency),
        out_request_no: req.refundId,
      }, req.merchant);
      if (node.code === '10000' && node.fund_change === 'Y') return { status: 'succeeded', providerRefundId: req.refundId };
      // fund_change N: no money moved by this call (a replay of a refund already made, or one still being
      // processed): only the refund query says whether this out_request_no was refunded.
      if (node.code === '10000') {
        const confirmed = await lookupRefund(req);
        return confirmed.status === 'succeeded' ? confirmed : { status: 'pending' };
      }
      if (node.code === '40004' && node.sub_code === 'ACQ.REFUND_AMT_NOT_EQUAL_TOTAL') return { status: 'failed', reason: 'amount_exceeded' };
      if (node.code === '40004' && node.sub_code !== 'ACQ.SYSTEM_ERROR') return { status: 'failed', reason: node.sub_code ?? 'refused' };
      throw gatewayError('trade.refund', node);
    },
    lookupRefund,
    ...alipayNotifications(options),
  };
}

/** What the trade's record says was paid: `total_amount` is in `trans_currency` when the trade was priced in one, else in yuan. */
function captured(node: Node, orderCurrency: string): Capture {
  const currency = (node.trans_currency ?? 'CNY').toUpperCase();
  const paid = node.buyer_pay_amount && currency === 'CNY' ? node.buyer_pay_amount : node.total_amount;
  return {
    status: 'captured',
    providerReference: node.trade_no ?? '',
    amountMinor: parseDecimal(paid ?? '0', currency === orderCurrency.toUpperCase() ? orderCurrency : currency),
    currency,
  };
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
