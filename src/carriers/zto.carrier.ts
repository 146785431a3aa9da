import { z } from 'zod';
import type { CarrierClient, ShipmentStatus, TrackingEvent, TrackingQuery, TrackingSnapshot } from '../domain/carrier.js';
import { PermanentError, TransientError } from '../domain/errors.js';
import { carrierRequest, lastFourDigits, latestStatus, md5, oldestFirst, parseCarrierJson, parseChinaTime, type CarrierHttp } from './http.js';

export interface ZtoOptions {
  baseUrl: string;
  appKey: string;
  appSecret: string;
  timeoutMs: number;
  serviceLevelHours: number;
  fetch?: typeof fetch;
}

/**
 * ZTO scan types (thin: docs/providers.md section 6; clients use the Chinese names or the English codes). An
 * unknown scan still means the parcel is in ZTO's network: `in_transit`.
 */
const SCAN_TYPES: Record<string, ShipmentStatus> = {
  收件: 'in_transit',
  GOT: 'in_transit',
  发件: 'in_transit',
  DEPARTURE: 'in_transit',
  到件: 'in_transit',
  ARRIVAL: 'in_transit',
  派件: 'out_for_delivery',
  DISPATCH: 'out_for_delivery',
  // Left at a parcel station or locker for the recipient to collect.
  第三方代派: 'out_for_delivery',
  驿站入库: 'out_for_delivery',
  INBOUND: 'out_for_delivery',
  签收: 'delivered',
  SIGNED: 'delivered',
  第三方签收: 'delivered',
  问题件: 'exception',
  PROBLEM: 'exception',
  退件: 'exception',
  退回件: 'exception',
  RETURN: 'exception',
};

/** A 问题件 (problem scan) whose description says the courier could not hand the parcel over is a failed attempt. */
const FAILED_DELIVERY = /派送不成功|派件不成功|投递失败|无法联系|联系不上|无人接听|电话不通|不在家|收件人不在|客户不在|改约|再次派送|delivery (attempt )?failed|not at home|unable to contact/i;
const PROBLEM_SCANS = new Set(['问题件', 'PROBLEM']);

export function ztoScanStatus(scanType: string | undefined, desc?: string | null): ShipmentStatus {
  const type = (scanType ?? '').trim();
  if (PROBLEM_SCANS.has(type) && desc && FAILED_DELIVERY.test(desc)) return 'failed_attempt';
  return SCAN_TYPES[type] ?? 'in_transit';
}

/** base64(raw MD5(body + appSecret)), over the exact body sent (zopsdk-java ZopDigestUtil). */
export const ztoDataDigest = (body: string, appSecret: string) => md5(body + appSecret).digest('base64');

const Site = z.union([z.string(), z.object({ name: z.string().nullish(), city: z.string().nullish(), prov: z.string().nullish() })]);
const Scan = z.object({
  scanType: z.string().optional(),
  // Epoch milliseconds in the newer gateway, `yyyy-MM-dd HH:mm:ss` (UTC+8) in older answers.
  scanDate: z.union([z.number(), z.string()]),
  desc: z.string().nullish(),
  scanSite: Site.nullish(),
});
const Reply = z.object({
  status: z.boolean(),
  statusCode: z.union([z.string(), z.number()]).nullish(),
  message: z.string().nullish(),
  result: z.array(Scan).nullish(),
});

/** Failures that read as "try again later" in ZTO's (thin) vocabulary: system codes, busy, timeout, throttling. */
const TRANSIENT_FAILURE = /^(SYS|S9)|繁忙|超时|系统|频繁|限流|busy|timeout/i;

export class ZtoCarrier implements CarrierClient {
  readonly code = 'zto' as const;
  /** ZTO publishes no per-waybill query limit; the scheduler's own interval is enough. */
  readonly minPollIntervalMs = 0;
  readonly serviceLevelHours: number;
  private readonly http: CarrierHttp;

  constructor(private readonly options: ZtoOptions) {
    this.serviceLevelHours = options.serviceLevelHours;
    this.http = { carrier: 'zto', timeoutMs: options.timeoutMs, ...(options.fetch ? { fetch: options.fetch } : {}) };
  }

  buildRequest(query: TrackingQuery): { body: string; headers: Record<string, string> } {
    const mobilePhone = lastFourDigits(query.phone);
    const body = JSON.stringify({ billCode: query.trackingNumber, ...(mobilePhone ? { mobilePhone } : {}) });
    return {
      body,
      headers: {
        'content-type': 'application/json; charset=UTF-8',
        'x-companyid': this.options.appKey,
        'x-datadigest': ztoDataDigest(body, this.options.appSecret),
      },
    };
  }

  async track(query: TrackingQuery): Promise<TrackingSnapshot> {
    const { body, headers } = this.buildRequest(query);
    const url = `${this.options.baseUrl.replace(/\/$/, '')}/zto.merchant.waybill.track.query`;
    const { text } = await carrierRequest(this.http, url, { method: 'POST', headers, body });
    const reply = Reply.safeParse(parseCarrierJson('zto', text));
    if (!reply.success) throw new TransientError('carrier_unavailable', 'zto: unexpected answer', { cause: reply.error });
    const { status, statusCode, message } = reply.data;
    if (!status) {
      const detail = `zto: ${statusCode ?? ''} ${message ?? ''}`.trim();
      if (TRANSIENT_FAILURE.test(String(statusCode ?? '')) || TRANSIENT_FAILURE.test(message ?? '')) throw new TransientError('carrier_unavailable', detail);
      throw new PermanentError('carrier_rejected', detail);
    }
    const events = backWithSender(oldestFirst((reply.data.result ?? []).flatMap(toEvent)));
    return { status: latestStatus(events), events, estimatedDeliveryAt: null };
  }
}

const RETURN_SCANS = new Set(['退件', '退回件', 'RETURN']);

function toEvent(scan: z.infer<typeof Scan>): Array<TrackingEvent & { returning: boolean }> {
  const at = typeof scan.scanDate === 'number' ? new Date(scan.scanDate) : parseChinaTime(scan.scanDate);
  if (!at || Number.isNaN(at.getTime())) return [];
  const site = scan.scanSite;
  const location = typeof site === 'string' ? site : (site?.city || site?.name || null);
  const returning = RETURN_SCANS.has((scan.scanType ?? '').trim());
  return [{ at, status: ztoScanStatus(scan.scanType, scan.desc), description: scan.desc ?? '', location: location || null, returning }];
}

/**
 * ZTO has no "back with the sender" scan: once a return scan (退件) has been made, the sign-for that ends the
 * waybill is the sender taking the parcel back, so it is `returned_to_sender`, never the buyer's `delivered`.
 */
export function backWithSender(events: Array<TrackingEvent & { returning: boolean }>): TrackingEvent[] {
  let returning = false;
  return events.map(({ returning: isReturn, ...event }) => {
    returning ||= isReturn;
    return returning && event.status === 'delivered' ? { ...event, status: 'returned_to_sender' } : event;
  });
}
