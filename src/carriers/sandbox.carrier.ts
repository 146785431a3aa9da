import { z } from 'zod';
import { SHIPMENT_STATUSES, type CarrierClient, type TrackingQuery, type TrackingSnapshot } from '../domain/carrier.js';
import { TransientError } from '../domain/errors.js';
import { carrierRequest, oldestFirst, parseCarrierJson, type CarrierHttp } from './http.js';

export interface SandboxCarrierOptions {
  /** Where the web process mounts the sandbox, e.g. `http://127.0.0.1:3000/sandbox`. */
  baseUrl: string;
  timeoutMs: number;
  serviceLevelHours: number;
  fetch?: typeof fetch;
}

const IsoDate = z.iso.datetime({ offset: true }).transform((s) => new Date(s));
const Body = z.object({
  trackingNumber: z.string(),
  status: z.enum(SHIPMENT_STATUSES),
  events: z.array(
    z.object({ at: IsoDate, status: z.enum(SHIPMENT_STATUSES), description: z.string(), location: z.string().nullable() }),
  ),
  estimatedDeliveryAt: IsoDate.nullable(),
});

/**
 * The adapter of the sandbox carrier (src/sandbox/carrier/), over HTTP like the real ones, so the sandbox
 * exercises the same classification: 404 for a number it never issued is `carrier_rejected`, injected
 * 500s and timeouts `carrier_unavailable`, 429 `rate_limited` with its Retry-After.
 */
export class SandboxCarrier implements CarrierClient {
  readonly code = 'sandbox' as const;
  /** The sandbox moves a parcel on each query: any interval will do. */
  readonly minPollIntervalMs = 0;
  readonly serviceLevelHours: number;
  private readonly http: CarrierHttp;

  constructor(private readonly options: SandboxCarrierOptions) {
    this.serviceLevelHours = options.serviceLevelHours;
    this.http = { carrier: 'sandbox', timeoutMs: options.timeoutMs, ...(options.fetch ? { fetch: options.fetch } : {}) };
  }

  async track(query: TrackingQuery): Promise<TrackingSnapshot> {
    const url = `${this.options.baseUrl.replace(/\/$/, '')}/carrier/track`;
    const { text } = await carrierRequest(this.http, url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ trackingNumber: query.trackingNumber }),
    });
    const body = Body.safeParse(parseCarrierJson('sandbox', text));
    if (!body.success) throw new TransientError('carrier_unavailable', 'sandbox: unexpected answer', { cause: body.error });
    return { status: body.data.status, events: oldestFirst(body.data.events), estimatedDeliveryAt: body.data.estimatedDeliveryAt };
  }
}
