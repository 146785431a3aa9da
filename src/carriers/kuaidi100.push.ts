import { timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { PushReading, PushReceiver, PushReply } from '../domain/tracking-ports.js';
import { upperHexMd5 } from './http.js';
import { kuaidi100Snapshot, kuaidi100Track } from './kuaidi100-track.js';

/**
 * Kuaidi100's push (推送接口): a form `param=<JSON>&sign=<UPPER(hex MD5(param + salt))>` posted to the
 * subscription's callback URL. Kuaidi100 counts a push as received only when the answer is
 * `{"result":true,"returnCode":"200",...}`; anything else it sends again later (a few times, then gives up).
 */

/** UPPER(hex MD5(param + salt)) over the exact `param` string received. */
export const kuaidi100PushSign = (param: string, salt: string) => upperHexMd5(param + salt);

const Push = z.object({
  /** polling: still followed; shutdown: ended (signed for); abort: ended (no record, or no change, for days); updateall: a full resend. */
  status: z.string(),
  message: z.string().nullish(),
  /** Set when Kuaidi100 found our `com` wrong and follows the waybill on under this one. */
  comNew: z.string().nullish(),
  comOld: z.string().nullish(),
  lastResult: kuaidi100Track.extend({ nu: z.string().min(1) }),
});

/** An `abort` whose message says Kuaidi100 found no record of the waybill (查询无记录). */
const NO_RECORD = /无记录/;

const reply = (status: number, result: boolean, returnCode: string, message: string): PushReply => ({
  status,
  contentType: 'application/json',
  body: JSON.stringify({ result, returnCode, message }),
});
const ACCEPTED = reply(200, true, '200', '成功');
const refused = (why: string): PushReading => ({ verified: false, why, reply: reply(400, false, '400', why) });

export function kuaidi100PushReceiver(salt: string): PushReceiver {
  return {
    read(body) {
      const form = new URLSearchParams(body.toString('utf8'));
      const param = form.get('param');
      const sign = form.get('sign');
      if (!param || !sign) return refused('param and sign are required');
      if (!sameSign(kuaidi100PushSign(param, salt), sign)) return refused('the sign does not match');
      let json: unknown;
      try {
        json = JSON.parse(param);
      } catch {
        return refused('param is not JSON');
      }
      const push = Push.safeParse(json);
      if (!push.success) return refused('param is not a tracking push');
      const { status, message, comNew, comOld, lastResult } = push.data;
      const coms = [lastResult.com, comOld, comNew].filter((c): c is string => Boolean(c));
      // A corrected carrier comes with an abort of the old subscription; Kuaidi100 follows on under the new one.
      const ended = (status === 'abort' || status === 'shutdown') && !comNew;
      // "3天查询无记录": no record yet, perhaps not scanned yet; "60天无变化" (no change) and any other end are final.
      const renewable = ended && status === 'abort' && NO_RECORD.test(message ?? '');
      return {
        verified: true,
        push: {
          trackingNumber: lastResult.nu,
          snapshot: lastResult.data.length ? kuaidi100Snapshot(lastResult) : null,
          ended,
          ...(renewable ? { renewable } : {}),
          ...(comNew ? { carrierCom: comNew } : {}),
          ...(coms.length ? { coms } : {}),
        },
        reply: ACCEPTED,
      };
    },
  };
}

/** Constant time over the hex digits, whatever their case; a sign of another length is simply wrong. */
function sameSign(expected: string, given: string): boolean {
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(given.trim().toUpperCase(), 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}
