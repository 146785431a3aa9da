import { z } from 'zod';
import type { CarrierClient, CarrierCode, TrackingEvent, TrackingQuery, TrackingSnapshot } from '../domain/carrier.js';
import { PermanentError, TransientError } from '../domain/errors.js';
import { carrierRequest, kuaidi100Phone, latestStatus, md5, oldestFirst, parseCarrierJson, parseChinaTime, type CarrierHttp } from './http.js';
import { kuaidi100State, kuaidi100StatusName } from './kuaidi100-states.js';

/** Kuaidi100 locks a waybill for 24 h after more than 48 queries a day; it asks for 30 minutes between queries. */
export const KUAIDI100_MIN_POLL_INTERVAL_MS = 30 * 60_000;

/** Our carriers as Kuaidi100 `com` codes, for SF and ZTO parcels followed through Kuaidi100. */
export const KUAIDI100_COM: Readonly<Record<'sf' | 'zto', string>> = { sf: 'shunfeng', zto: 'zhongtong' };

export interface Kuaidi100Options {
  baseUrl: string;
  customer: string;
  key: string;
  timeoutMs: number;
  serviceLevelHours: number;
  /** Which of our carriers this client answers for: `kuaidi100` itself, or `sf`/`zto` queried through it. */
  code?: CarrierCode;
  /** A fixed `com`; otherwise it is guessed from the waybill's format, else `defaultCom`. */
  com?: string;
  defaultCom?: string;
  /** 8 adds the predicted arrival; 4 only the advanced status codes. */
  resultv2?: 4 | 8;
  /** Per-process guard against querying one waybill too often; 0 turns it off (tests). */
  minPollIntervalMs?: number;
  fetch?: typeof fetch;
  now?: () => number;
}

/** UPPER(hex MD5(param + key + customer)) over the exact param string that is sent. */
export const kuaidi100Sign = (param: string, key: string, customer: string) => md5(param + key + customer).digest('hex').toUpperCase();

/** SF waybills are `SF` and 12-13 digits; ZTO's are 12-14 digits starting with 7 (thin: README). */
export function guessKuaidi100Com(trackingNumber: string): string | null {
  if (/^SF\d{12,13}$/i.test(trackingNumber)) return KUAIDI100_COM.sf;
  if (/^7\d{11,13}$/.test(trackingNumber)) return KUAIDI100_COM.zto;
  return null;
}

const Failure = z.object({ result: z.literal(false), returnCode: z.union([z.string(), z.number()]).transform(String), message: z.string().default('') });
const Success = z.object({
  message: z.literal('ok'),
  state: z.union([z.string(), z.number()]).transform(String),
  nu: z.string().optional(),
  data: z
    .array(
      z.object({
        ftime: z.string().optional(),
        time: z.string().optional(),
        context: z.string().default(''),
        areaName: z.string().nullish(),
        location: z.string().nullish(),
        status: z.string().nullish(),
        statusCode: z.union([z.string(), z.number()]).nullish(),
      }),
    )
    .default([]),
  arrivalTime: z.string().nullish(),
});

/** 500 "no result yet", 501 server error and 502 busy pass by themselves; anything else is our mistake or our account's. */
const TRANSIENT_RETURN_CODES = new Set(['500', '501', '502']);

export class Kuaidi100Carrier implements CarrierClient {
  readonly code: CarrierCode;
  readonly serviceLevelHours: number;
  readonly minPollIntervalMs: number;
  private readonly http: CarrierHttp;
  private readonly lastQueried = new Map<string, number>();

  constructor(private readonly options: Kuaidi100Options) {
    this.code = options.code ?? 'kuaidi100';
    this.serviceLevelHours = options.serviceLevelHours;
    this.minPollIntervalMs = options.minPollIntervalMs ?? KUAIDI100_MIN_POLL_INTERVAL_MS;
    this.http = { carrier: this.code, timeoutMs: options.timeoutMs, ...(options.fetch ? { fetch: options.fetch } : {}) };
  }

  /** The exact form this client sends for a query; exported through the class so tests can recompute the sign. */
  buildForm(query: TrackingQuery): URLSearchParams {
    const com = this.options.com ?? guessKuaidi100Com(query.trackingNumber) ?? this.options.defaultCom;
    if (!com) throw new PermanentError('carrier_rejected', `${this.code}: cannot tell which carrier waybill ${query.trackingNumber} belongs to`);
    const param = JSON.stringify({
      com,
      num: query.trackingNumber,
      phone: kuaidi100Phone(query.phone) ?? '',
      from: query.fromCity ?? '',
      to: query.toCity ?? '',
      resultv2: String(this.options.resultv2 ?? 8),
      show: '0',
      order: 'asc',
    });
    const { customer, key } = this.options;
    return new URLSearchParams({ customer, sign: kuaidi100Sign(param, key, customer), param });
  }

  async track(query: TrackingQuery): Promise<TrackingSnapshot> {
    const form = this.buildForm(query);
    this.guardPollInterval(form);
    const url = `${this.options.baseUrl.replace(/\/$/, '')}/poll/query.do`;
    const { text } = await carrierRequest(this.http, url, { method: 'POST', body: form });
    return this.parse(parseCarrierJson(this.code, text));
  }

  private parse(body: unknown): TrackingSnapshot {
    const failure = Failure.safeParse(body);
    if (failure.success) {
      const { returnCode, message } = failure.data;
      const text = `${this.code}: returnCode ${returnCode} ${message}`.trim();
      if (TRANSIENT_RETURN_CODES.has(returnCode)) throw new TransientError('carrier_unavailable', text);
      throw new PermanentError('carrier_rejected', text);
    }
    const ok = Success.safeParse(body);
    if (!ok.success) throw new TransientError('carrier_unavailable', `${this.code}: unexpected answer`, { cause: ok.error });
    const overall = kuaidi100State(ok.data.state);
    const events = oldestFirst(ok.data.data.flatMap((d) => toEvent(d)));
    // An event without a code or name of its own (plain resultv2=0 answers): the latest one is in the
    // parcel's overall state, the earlier ones were on the way.
    const settled = events.map((e, i) => ({ ...e, status: e.status ?? (i === events.length - 1 ? overall : null) ?? 'in_transit' }));
    return {
      status: overall ?? latestStatus(settled),
      events: settled,
      estimatedDeliveryAt: parseChinaTime(ok.data.arrivalTime),
    };
  }

  /**
   * Defence in depth for the 30-minute rule: the tracking scheduler is what spaces polls out across
   * processes; this stops a bug or a retry storm in one process from getting a waybill locked for a day.
   */
  private guardPollInterval(form: URLSearchParams): void {
    if (this.minPollIntervalMs <= 0) return;
    const param = JSON.parse(form.get('param')!) as { com: string; num: string };
    const id = `${param.com}:${param.num}`;
    const now = this.options.now?.() ?? Date.now();
    const last = this.lastQueried.get(id);
    if (last !== undefined && now - last < this.minPollIntervalMs) {
      const retryAfterSeconds = Math.ceil((last + this.minPollIntervalMs - now) / 1000);
      throw new TransientError('rate_limited', `${this.code}: waybill ${param.num} was queried less than 30 minutes ago`, { retryAfterSeconds });
    }
    if (this.lastQueried.size > 50_000) {
      for (const [k, t] of this.lastQueried) if (now - t >= this.minPollIntervalMs) this.lastQueried.delete(k);
    }
    this.lastQueried.set(id, now);
  }
}

type Unsettled = Omit<TrackingEvent, 'status'> & { status: TrackingEvent['status'] | null };

function toEvent(d: z.infer<typeof Success>['data'][number]): Unsettled[] {
  const at = parseChinaTime(d.ftime ?? d.time);
  if (!at) return [];
  const status = kuaidi100State(d.statusCode) ?? kuaidi100StatusName(d.status);
  return [{ at, status, description: d.context, location: d.areaName || d.location || null }];
}
