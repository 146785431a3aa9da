import { z } from 'zod';
import type { CarrierClient, CarrierCode, TrackingQuery, TrackingSnapshot } from '../domain/carrier.js';
import { AskedTooSoon, PermanentError, TransientError } from '../domain/errors.js';
import { carrierRequest, kuaidi100Phone, parseCarrierJson, upperHexMd5, type CarrierHttp } from './http.js';
import { kuaidi100Snapshot, kuaidi100Track } from './kuaidi100-track.js';

/** Kuaidi100 locks a waybill for 24 h after more than 48 queries a day; it asks for 30 minutes between queries. */
export const KUAIDI100_MIN_POLL_INTERVAL_MS = 30 * 60_000;

/** Kuaidi100 asks for half an hour after it stopped following a waybill before the waybill is subscribed again. */
export const KUAIDI100_RESUBSCRIBE_AFTER_MS = 30 * 60_000;

/** Our carriers as Kuaidi100 `com` codes, for SF and ZTO parcels followed through Kuaidi100. */
export const KUAIDI100_COM: Readonly<Record<'sf' | 'zto', string>> = { sf: 'shunfeng', zto: 'zhongtong' };

/** Where Kuaidi100 pushes news of subscribed waybills, and the salt it signs each push with. */
export interface Kuaidi100Push {
  callbackUrl: string;
  salt: string;
}

export interface Kuaidi100Options {
  /** The query and subscription API (https://poll.kuaidi100.com). */
  baseUrl: string;
  /** The number recognition API (https://www.kuaidi100.com); defaults to `baseUrl`. */
  autonumberBaseUrl?: string;
  customer: string;
  key: string;
  timeoutMs: number;
  serviceLevelHours: number;
  /** Which of our carriers this client answers for: `kuaidi100` itself, or `sf`/`zto` queried through it. */
  code?: CarrierCode;
  /** A fixed `com`: wins over any recognised one. Otherwise Kuaidi100 recognises the waybill, else `defaultCom`. */
  com?: string;
  defaultCom?: string;
  /** 8 adds the predicted arrival; 4 only the advanced status codes. */
  resultv2?: 4 | 8;
  /** Per-process guard against querying one waybill too often; 0 turns it off (tests). */
  minPollIntervalMs?: number;
  /** Set: waybills are subscribed to Kuaidi100's push (`subscribe`). */
  push?: Kuaidi100Push;
  fetch?: typeof fetch;
  now?: () => number;
}

/** UPPER(hex MD5(param + key + customer)) over the exact param string that is sent. */
export const kuaidi100Sign = (param: string, key: string, customer: string) => upperHexMd5(param + key + customer);

const code = z.union([z.string(), z.number()]).transform(String);
const Failure = z.object({ result: z.literal(false), returnCode: code, message: z.string().default('') });
const Success = kuaidi100Track.extend({ message: z.literal('ok') });
const Recognised = z.array(z.object({ comCode: z.string().min(1) }).loose());
const Subscribed = z.object({ result: z.boolean(), returnCode: code, message: z.string().default('') });

/** 500 "no result yet", 501 server error and 502 busy pass by themselves; anything else is our mistake or our account's. */
const TRANSIENT_RETURN_CODES = new Set(['500', '501', '502']);
/**
 * Subscription answers: 200 submitted, 501 already subscribed and still followed (a retry's answer: success);
 * 500 a server hiccup. 600 bad key, 601 key expired, 700 bad data or callback URL, 701 carrier not followed,
 * 702 number not recognised, and anything else, are refusals a retry will not change.
 */
const SUBSCRIBED_RETURN_CODES = new Set(['200', '501']);

export class Kuaidi100Carrier implements CarrierClient {
  readonly code: CarrierCode;
  readonly serviceLevelHours: number;
  readonly minPollIntervalMs: number;
  /** Every waybill asked through Kuaidi100, whichever carrier it is, counts against the one account's limit. */
  readonly account = 'kuaidi100' as const;
  readonly fixedCom?: string;
  readonly subscribe?: (query: TrackingQuery) => Promise<void>;
  readonly pushedBy?: CarrierCode;
  readonly resubscribeAfterMs?: number;
  private readonly http: CarrierHttp;
  private readonly lastQueried = new Map<string, number>();

  constructor(private readonly options: Kuaidi100Options) {
    this.code = options.code ?? 'kuaidi100';
    this.serviceLevelHours = options.serviceLevelHours;
    this.minPollIntervalMs = options.minPollIntervalMs ?? KUAIDI100_MIN_POLL_INTERVAL_MS;
    if (options.com) this.fixedCom = options.com;
    this.http = { carrier: this.code, timeoutMs: options.timeoutMs, ...(options.fetch ? { fetch: options.fetch } : {}) };
    const push = options.push;
    if (push) {
      this.subscribe = (query) => this.subscribeTo(push, query);
      // SF and ZTO followed through Kuaidi100 are subscribed on the same account: their news comes by its push.
      this.pushedBy = 'kuaidi100';
      this.resubscribeAfterMs = KUAIDI100_RESUBSCRIBE_AFTER_MS;
    }
  }

  /** The exact form this client sends for a query; exported through the class so tests can recompute the sign. */
  buildForm(query: TrackingQuery): URLSearchParams {
    const param = JSON.stringify({
      com: this.comOf(query),
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
    const { text } = await carrierRequest(this.http, this.url('/poll/query.do'), { method: 'POST', body: form });
    const body = parseCarrierJson(this.code, text);
    throwFailure(this.code, body);
    const ok = Success.safeParse(body);
    if (!ok.success) throw new TransientError('carrier_unavailable', `${this.code}: unexpected answer`, { cause: ok.error });
    return kuaidi100Snapshot(ok.data);
  }

  /**
   * Kuaidi100's number recognition (`autonumber/auto`): its likeliest carrier for the waybill. A configured
   * `com` wins without asking; an answer naming none (an empty list, or a refusal such as 201 "not a waybill"
   * or 601 "not enabled for this key") falls back to `defaultCom`. An outage throws: asked again next poll.
   */
  async recognise(trackingNumber: string): Promise<string | null> {
    if (this.options.com) return this.options.com;
    const q = new URLSearchParams({ num: trackingNumber, key: this.options.key });
    const base = this.options.autonumberBaseUrl ?? this.options.baseUrl;
    const { text } = await carrierRequest(this.http, `${base.replace(/\/$/, '')}/autonumber/auto?${q}`, { method: 'POST' });
    const body = parseCarrierJson(this.code, text);
    const found = Recognised.safeParse(body);
    if (found.success) return found.data[0]?.comCode ?? this.options.defaultCom ?? null;
    if (Failure.safeParse(body).success) return this.options.defaultCom ?? null;
    throw new TransientError('carrier_unavailable', `${this.code}: unexpected number recognition answer`, { cause: found.error });
  }

  /** The subscription request (`POST /poll`, form `schema=json&param=...`): Kuaidi100 then pushes to `callbackUrl`. */
  private async subscribeTo(push: Kuaidi100Push, query: TrackingQuery): Promise<void> {
    const param = JSON.stringify({
      company: this.comOf(query),
      number: query.trackingNumber,
      key: this.options.key,
      from: query.fromCity ?? '',
      to: query.toCity ?? '',
      parameters: { callbackurl: push.callbackUrl, salt: push.salt, resultv2: '4', phone: kuaidi100Phone(query.phone) ?? '' },
    });
    const form = new URLSearchParams({ schema: 'json', param });
    const { text } = await carrierRequest(this.http, this.url('/poll'), { method: 'POST', body: form });
    const answer = Subscribed.safeParse(parseCarrierJson(this.code, text));
    if (!answer.success) throw new TransientError('carrier_unavailable', `${this.code}: unexpected subscription answer`, { cause: answer.error });
    const { returnCode, message } = answer.data;
    if (SUBSCRIBED_RETURN_CODES.has(returnCode)) return;
    const why = `${this.code}: subscription returnCode ${returnCode} ${message}`.trim();
    if (returnCode === '500') throw new TransientError('carrier_unavailable', why);
    throw new PermanentError('carrier_rejected', why);
  }

  private comOf(query: TrackingQuery): string {
    const com = this.options.com ?? query.carrierCom ?? this.options.defaultCom;
    if (!com) throw new PermanentError('carrier_rejected', `${this.code}: cannot tell which carrier waybill ${query.trackingNumber} belongs to`);
    return com;
  }

  private url(path: string): string {
    return `${this.options.baseUrl.replace(/\/$/, '')}${path}`;
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
      throw new AskedTooSoon(`${this.code}: waybill ${param.num} was queried less than 30 minutes ago`, { retryAfterSeconds });
    }
    if (this.lastQueried.size > 50_000) {
      for (const [k, t] of this.lastQueried) if (now - t >= this.minPollIntervalMs) this.lastQueried.delete(k);
    }
    this.lastQueried.set(id, now);
  }
}

/** A `{result:false, returnCode}` answer to a query, classified. */
function throwFailure(carrier: CarrierCode, body: unknown): void {
  const failure = Failure.safeParse(body);
  if (!failure.success) return;
  const { returnCode, message } = failure.data;
  const text = `${carrier}: returnCode ${returnCode} ${message}`.trim();
  if (TRANSIENT_RETURN_CODES.has(returnCode)) throw new TransientError('carrier_unavailable', text);
  throw new PermanentError('carrier_rejected', text);
}
