import { PermanentError } from '../domain/errors.js';
import type { NotificationReply, PaymentGateway, PaymentNotification } from '../domain/payment-gateway.js';
import { headerValue, oncePerNotification, parseJson } from './provider-http.js';
import { decryptWechatResource, verifyWechatMessage, WECHAT_RESOURCE_ALGORITHM, type WechatResource } from './wechat-pay.signing.js';

/**
 * WeChat Pay API v3 callbacks (docs/providers.md section 2): the platform key signs `ts\nnonce\nbody\n` in the
 * `Wechatpay-*` headers, and the transaction travels encrypted in `resource` under the APIv3 key, so the
 * merchant reference is only known once the callback is verified and decrypted.
 */

export interface WechatPayNotificationOptions {
  platformPublicKey: string;
  platformSerial?: string;
  apiV3Key: string;
  /** The clock that judges Wechatpay-Timestamp; the real one unless a test replays an old callback. */
  now?: () => number;
}

interface Callback {
  event_type?: unknown;
  resource?: Partial<Record<keyof WechatResource, unknown>>;
}

interface Transaction {
  transaction_id?: string;
  out_trade_no?: string;
  trade_state?: string;
  mchid?: string;
  sub_mchid?: string;
  amount?: { total?: number; payer_total?: number; currency?: string };
}

const REPLY: NotificationReply = { status: 200, contentType: 'application/json', body: '{"code":"SUCCESS","message":"OK"}' };
const rejected = (why: string, cause?: unknown) => new PermanentError('provider_rejected', `wechat_pay notification ${why}`, { cause });
const SIGNATURE_HEADERS = ['wechatpay-timestamp', 'wechatpay-nonce', 'wechatpay-signature'];

const callbackOf = oncePerNotification((raw): Callback & { resource: WechatResource } => {
  const cb = parseJson<Callback>(raw.body.toString('utf8'));
  const r = cb?.resource;
  const shaped = typeof cb?.event_type === 'string' && r && r.algorithm === WECHAT_RESOURCE_ALGORITHM
    && typeof r.ciphertext === 'string' && typeof r.nonce === 'string' && (r.associated_data === undefined || typeof r.associated_data === 'string');
  if (!shaped || SIGNATURE_HEADERS.some((h) => !headerValue(raw.headers, h))) throw rejected('is not a signed WeChat Pay callback');
  return cb as Callback & { resource: WechatResource };
});

export function wechatPayNotifications(options: WechatPayNotificationOptions): Pick<PaymentGateway, 'inspectNotification' | 'parseNotification'> {
  return {
    async inspectNotification(raw) {
      callbackOf(raw);
      return { acts: true };
    },
    async parseNotification(raw) {
      const cb = callbackOf(raw);
      const get = (n: string) => headerValue(raw.headers, n);
      if (!verifyWechatMessage(get, raw.body.toString('utf8'), options.platformPublicKey, { serial: options.platformSerial, now: options.now?.() })) {
        throw rejected('signature did not verify');
      }
      let t: Transaction | undefined;
      try {
        t = parseJson<Transaction>(decryptWechatResource(cb.resource, options.apiV3Key));
      } catch (cause) {
        throw rejected('resource did not decrypt', cause);
      }
      return { notification: notificationOf(cb.event_type === 'TRANSACTION.SUCCESS', t ?? {}), reply: REPLY };
    },
  };
}

function notificationOf(successEvent: boolean, t: Transaction): PaymentNotification {
  const paid = successEvent && (t.trade_state === 'SUCCESS' || t.trade_state === 'REFUND');
  const amount = t.amount;
  return {
    reference: t.out_trade_no ?? '',
    status: paid ? 'captured' : t.trade_state === 'PAYERROR' || t.trade_state === 'CLOSED' ? 'failed' : 'other',
    ...(t.transaction_id ? { providerReference: t.transaction_id } : {}),
    ...(t.sub_mchid || t.mchid ? { merchant: (t.sub_mchid ?? t.mchid)! } : {}),
    // What the buyer paid: payer_total once paid (total is what was asked).
    ...(Number.isSafeInteger(amount?.payer_total ?? amount?.total) && typeof amount?.currency === 'string'
      ? { amountMinor: (amount.payer_total ?? amount.total)!, currency: amount.currency.toUpperCase() } : {}),
  };
}
