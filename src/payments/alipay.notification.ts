import { PermanentError } from '../domain/errors.js';
import type { NotificationClaim, NotificationReply, PaymentGateway } from '../domain/payment-gateway.js';
import { verifyAlipayNotification } from './alipay.signing.js';
import { parseDecimal } from './decimal-amount.js';
import { oncePerNotification } from './provider-http.js';

/**
 * Alipay's asynchronous notifications (docs/providers.md section 1): a form POST, signed RSA2 over its decoded
 * fields without `sign` and `sign_type`, answered with the body `success`.
 */

export interface AlipayNotificationOptions {
  appId: string;
  alipayPublicKey: string;
  /** The clock that judges notify_time; the real one unless a test replays an old notification. */
  now?: () => number;
}

/** notify_time is when Alipay sent this notification (each retry sends afresh): older than this is a replay. */
const NOTIFICATION_MAX_AGE_SECONDS = 300;
const REPLY: NotificationReply = { status: 200, contentType: 'text/plain', body: 'success' };
const rejected = (why: string) => new PermanentError('provider_rejected', `alipay notification ${why}`);

/** The form's fields, decoded once; a field sent twice is refused (the verified and the read value could differ). */
const formFields = oncePerNotification((raw): Record<string, string> => {
  const fields: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(raw.body.toString('utf8'))) {
    if (Object.hasOwn(fields, k)) throw rejected(`repeats the field ${k}`);
    fields[k] = v;
  }
  return fields;
});

export function alipayNotifications(options: AlipayNotificationOptions): Pick<PaymentGateway, 'inspectNotification' | 'parseNotification'> {
  return {
    async inspectNotification(raw): Promise<NotificationClaim> {
      const f = formFields(raw);
      if (!f.sign || !f.notify_type) throw rejected('is not a signed Alipay notification');
      if (f.notify_type !== 'trade_status_sync') return { acts: false, reply: REPLY };
      if (!f.out_trade_no) throw rejected('names no out_trade_no');
      return { acts: true, reference: f.out_trade_no };
    },
    async parseNotification(raw) {
      const f = formFields(raw);
      if (!verifyAlipayNotification(f, options.alipayPublicKey) || f.app_id !== options.appId) throw rejected('signature did not verify');
      if (!isRecentBeijingTime(f.notify_time ?? '', NOTIFICATION_MAX_AGE_SECONDS, options.now?.())) {
        throw rejected('is stale (notify_time more than five minutes away)');
      }
      const status = f.trade_status;
      // total_amount is in trans_currency when the trade was priced in one, else in yuan.
      const currency = (f.trans_currency ?? 'CNY').toUpperCase();
      let amountMinor: number | undefined;
      try {
        amountMinor = f.total_amount ? parseDecimal(f.total_amount, currency) : undefined;
      } catch (cause) {
        throw new PermanentError('provider_rejected', `alipay notification states an unreadable amount ${f.total_amount}`, { cause });
      }
      return {
        notification: {
          reference: f.out_trade_no ?? '',
          status: status === 'TRADE_SUCCESS' || status === 'TRADE_FINISHED' ? 'captured' : status === 'TRADE_CLOSED' ? 'failed' : 'other',
          ...(f.trade_no ? { providerReference: f.trade_no } : {}),
          ...(amountMinor !== undefined ? { amountMinor, currency } : {}),
        },
        reply: REPLY,
      };
    },
  };
}

/** `yyyy-MM-dd HH:mm:ss` in Beijing time (UTC+8), as Alipay writes times, within `maxAge` seconds of now. */
export function isRecentBeijingTime(text: string, maxAgeSeconds: number, now = Date.now()): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/.exec(text);
  if (!m) return false;
  const at = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]! - 8, +m[5]!, +m[6]!);
  return Math.abs(now - at) <= maxAgeSeconds * 1000;
}
