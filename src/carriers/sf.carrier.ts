import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { CarrierClient, ShipmentStatus, TrackingEvent, TrackingQuery, TrackingSnapshot } from '../domain/carrier.js';
import { PermanentError, TransientError } from '../domain/errors.js';
import { carrierRequest, lastFourDigits, latestStatus, md5, oldestFirst, parseCarrierJson, parseChinaTime, type CarrierHttp } from './http.js';

export interface SfOptions {
  baseUrl: string;
  partnerId: string;
  checkWord: string;
  timeoutMs: number;
  serviceLevelHours: number;
  fetch?: typeof fetch;
  now?: () => number;
}

/**
 * SF route opCodes (docs/providers.md sections 6-7; thin, third-party tables). An opCode we do not know still
 * means the parcel is in SF's network, so it reads as `in_transit` rather than failing the poll.
 */
const OP_CODES: Record<string, ShipmentStatus> = {
  '50': 'in_transit', // 已收件 (picked up)
  '54': 'in_transit', // 已收件 (picked up, another channel)
  '30': 'in_transit', // sorted
  '31': 'in_transit', // arrived at a hub
  '36': 'in_transit', // departed
  '3036': 'in_transit', // on the way to the next stop
  '123': 'in_transit', // on the way to an SF store
  '607': 'in_transit', // received by an agent
  '99': 'in_transit', // forwarded
  '44': 'out_for_delivery', // 正在派送途中
  '204': 'out_for_delivery', // delivering
  '130': 'out_for_delivery', // at an SF store, ready for pickup (AfterShip's AvailableForPickup)
  '80': 'delivered', // 已签收
  '8000': 'delivered', // signer information
  '33': 'failed_attempt', // 派送不成功 (delivery attempt failed; the courier tries again)
  '70': 'failed_attempt', // 由于客户原因派送失败 (delivery failed)
  // 631 and 648 end this waybill: the goods travel on under a new one. SF's text for them is 快件已退回/转寄
  // (returned, or forwarded: to the buyer's new address, say), so the remark decides (sfRerouteStatus).
  '631': 'exception',
  '648': 'exception',
};

const REROUTED = new Set(['631', '648']);

export const sfOpCodeStatus = (opCode: string | number | undefined): ShipmentStatus => OP_CODES[String(opCode ?? '')] ?? 'in_transit';

/**
 * A waybill that ended in 631/648 is returned to the sender only when SF's remark says 退回 (returned) and not
 * 转寄 (forwarded). A forward, or SF's template naming both, is an `exception`: not final, so the parcel is
 * still asked about, and the remark (with the new waybill number) is the shop's to read; calling a forwarded
 * parcel returned would end its tracking and leave the order undelivered for good.
 */
function sfRerouteStatus(remark: string | null | undefined): ShipmentStatus {
  const text = remark ?? '';
  return text.includes('退回') && !text.includes('转寄') ? 'returned_to_sender' : 'exception';
}

/**
 * The status codes SF's route query returns with each route (`secondaryStatusCode`, then `firstStatusCode`):
 * SF's own word on where the parcel stands, read before the opCode tables above. Secondary codes seen in SF's
 * answers: 101 picked up (揽收), 201 in transit (运送中), 204/205 customs (清关), 301 out for delivery (派送中),
 * 401 signed for (已签收); first codes: 1 picked up, 2 in transit, 3 out for delivery, 4 signed for. An opCode
 * that names a failed attempt or a return says more than either (SF reports those inside its delivery stage),
 * and a code we do not know falls back to the opCode.
 */
const SECONDARY_STATUS: Record<string, ShipmentStatus> = {
  '101': 'in_transit', '201': 'in_transit', '204': 'in_transit', '205': 'in_transit', '301': 'out_for_delivery', '401': 'delivered',
};
const FIRST_STATUS: Record<string, ShipmentStatus> = { '1': 'in_transit', '2': 'in_transit', '3': 'out_for_delivery', '4': 'delivered' };

export function sfRouteStatus(route: {
  opCode?: string | number | undefined;
  firstStatusCode?: string | number | null | undefined;
  secondaryStatusCode?: string | number | null | undefined;
  remark?: string | null | undefined;
}): ShipmentStatus {
  if (REROUTED.has(String(route.opCode ?? ''))) return sfRerouteStatus(route.remark);
  const byOpCode = sfOpCodeStatus(route.opCode);
  if (byOpCode === 'failed_attempt') return byOpCode;
  return SECONDARY_STATUS[String(route.secondaryStatusCode ?? '')] ?? FIRST_STATUS[String(route.firstStatusCode ?? '')] ?? byOpCode;
}

/**
 * SF's official samples (Java `URLEncoder.encode(..., "UTF-8")`) URL-encode before hashing: `encodeURIComponent`
 * plus what Java also escapes (`!'()~`) and a space as `+`. Our msgData is compact JSON of digits and letters,
 * so the variants only differ on inputs we never send.
 */
export function javaUrlEncode(text: string): string {
  return encodeURIComponent(text)
    .replace(/[!'()~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+');
}

/** base64(raw MD5(URL-encode(msgData + timestamp + checkWord))). */
export const sfMsgDigest = (msgData: string, timestamp: string, checkWord: string) =>
  md5(javaUrlEncode(msgData + timestamp + checkWord)).digest('base64');

const Envelope = z.object({
  apiResultCode: z.string(),
  apiErrorMsg: z.string().nullish(),
  apiResultData: z.string().nullish(),
});
const Route = z.object({
  acceptTime: z.string(),
  acceptAddress: z.string().nullish(),
  remark: z.string().nullish(),
  opCode: z.union([z.string(), z.number()]).optional(),
  firstStatusCode: z.union([z.string(), z.number()]).nullish(),
  secondaryStatusCode: z.union([z.string(), z.number()]).nullish(),
});
const ResultData = z.object({
  success: z.boolean(),
  errorCode: z.string().nullish(),
  errorMsg: z.string().nullish(),
  msgData: z
    .object({ routeResps: z.array(z.object({ mailNo: z.string(), routes: z.array(Route).nullish() })).default([]) })
    .nullish(),
});

/**
 * apiResultCode (丰桥 common codes): A1005 is traffic control; A1002 request failed, A1007 duplicate requestID
 * (the next attempt sends a new one), A1009 target service unreachable and A1099 system error pass by
 * themselves. The rest (A1001 missing parameter, A1003 IP not whitelisted, A1004 no permission, A1006 bad
 * digest, A1008 decryption) are configuration errors.
 */
const TRANSIENT_API_CODES = new Set(['A1002', 'A1007', 'A1009', 'A1099']);

export class SfCarrier implements CarrierClient {
  readonly code = 'sf' as const;
  /** SF publishes no per-waybill query limit; the scheduler's own interval is enough. */
  readonly minPollIntervalMs = 0;
  readonly serviceLevelHours: number;
  private readonly http: CarrierHttp;

  constructor(private readonly options: SfOptions) {
    this.serviceLevelHours = options.serviceLevelHours;
    this.http = { carrier: 'sf', timeoutMs: options.timeoutMs, ...(options.fetch ? { fetch: options.fetch } : {}) };
  }

  buildForm(query: TrackingQuery): URLSearchParams {
    const checkPhoneNo = lastFourDigits(query.phone);
    const msgData = JSON.stringify({
      language: '0',
      trackingType: '1',
      trackingNumber: [query.trackingNumber],
      methodType: '1',
      ...(checkPhoneNo ? { checkPhoneNo } : {}),
    });
    // Milliseconds, as the official Node and Java samples send (Python's send seconds; both are accepted).
    const timestamp = String(this.options.now?.() ?? Date.now());
    return new URLSearchParams({
      partnerID: this.options.partnerId,
      requestID: randomUUID(),
      serviceCode: 'EXP_RECE_SEARCH_ROUTES',
      timestamp,
      msgDigest: sfMsgDigest(msgData, timestamp, this.options.checkWord),
      msgData,
    });
  }

  async track(query: TrackingQuery): Promise<TrackingSnapshot> {
    const url = `${this.options.baseUrl.replace(/\/$/, '')}/std/service`;
    const { text } = await carrierRequest(this.http, url, { method: 'POST', body: this.buildForm(query) });
    const envelope = Envelope.safeParse(parseCarrierJson('sf', text));
    if (!envelope.success) throw new TransientError('carrier_unavailable', 'sf: unexpected answer', { cause: envelope.error });
    const { apiResultCode, apiErrorMsg, apiResultData } = envelope.data;
    const detail = `sf: ${apiResultCode} ${apiErrorMsg ?? ''}`.trim();
    if (apiResultCode === 'A1005') throw new TransientError('rate_limited', detail, { retryAfterSeconds: 60 });
    if (TRANSIENT_API_CODES.has(apiResultCode)) throw new TransientError('carrier_unavailable', detail);
    if (apiResultCode !== 'A1000') throw new PermanentError('carrier_rejected', detail);

    const result = ResultData.safeParse(parseCarrierJson('sf', apiResultData ?? ''));
    if (!result.success) throw new TransientError('carrier_unavailable', 'sf: unexpected apiResultData', { cause: result.error });
    // success:false inside a A1000 envelope is a business refusal (unknown waybill, phone check failed): thin, see README.
    if (!result.data.success) throw new PermanentError('carrier_rejected', `sf: ${result.data.errorCode ?? ''} ${result.data.errorMsg ?? ''}`.trim());

    const resps = result.data.msgData?.routeResps ?? [];
    const mine = resps.find((r) => r.mailNo === query.trackingNumber) ?? resps[0];
    const events = oldestFirst((mine?.routes ?? []).flatMap((r) => toEvent(r)));
    return { status: latestStatus(events), events, estimatedDeliveryAt: null };
  }
}

function toEvent(route: z.infer<typeof Route>): TrackingEvent[] {
  const at = parseChinaTime(route.acceptTime);
  if (!at) return [];
  return [{ at, status: sfRouteStatus(route), description: route.remark ?? '', location: route.acceptAddress || null }];
}
