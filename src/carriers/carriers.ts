import type { CarrierClient, CarrierCode } from '../domain/carrier.js';
import { PermanentError } from '../domain/errors.js';
import { KUAIDI100_COM, KUAIDI100_MIN_POLL_INTERVAL_MS, Kuaidi100Carrier, type Kuaidi100Push } from './kuaidi100.carrier.js';
import { SandboxCarrier } from './sandbox.carrier.js';
import { SfCarrier } from './sf.carrier.js';
import { ZtoCarrier } from './zto.carrier.js';

/**
 * Published service levels, in hours from pickup to delivery: the estimate of last resort, so each is the
 * slow end of what the carrier advertises rather than the fast one.
 * - sf: 顺丰标快 promises next day on most intercity routes and two days on the long ones: 48 h.
 * - zto: standard ground parcels, two to three days between most provinces: 72 h.
 * - kuaidi100: an aggregator; the underlying carrier decides. Assume a ZTO-like ground parcel: 72 h.
 * - sandbox: its parcels move a step per refresh, so seconds to minutes: 1 h keeps estimates plausible.
 */
export const DEFAULT_SERVICE_LEVEL_HOURS: Readonly<Record<CarrierCode, number>> = { sandbox: 1, kuaidi100: 72, sf: 48, zto: 72 };

/** A carrier client plus the least time between two queries of one waybill that the scheduler must respect. */
export interface PolledCarrierClient extends CarrierClient {
  readonly minPollIntervalMs: number;
}

export interface Kuaidi100Credentials {
  baseUrl: string;
  /** Kuaidi100's number recognition API; defaults to `baseUrl`. */
  autonumberBaseUrl?: string;
  customer: string;
  key: string;
  /** `com` to use when Kuaidi100's number recognition names none (README); unset means such waybills are rejected. */
  defaultCom?: string;
  /** Set: `kuaidi100` waybills, and SF and ZTO ones followed through Kuaidi100, are subscribed to Kuaidi100's push. */
  push?: Kuaidi100Push;
  /** Defaults to KUAIDI100_MIN_POLL_INTERVAL_MS; lower it only against a local fake. */
  minPollIntervalMs?: number;
}

export interface CarrierClientsOptions {
  /** Per request, body included. Default 10 s. */
  timeoutMs?: number;
  /** The web process's `/sandbox` URL; the sandbox carrier is always available. */
  sandbox: { baseUrl: string };
  kuaidi100?: Kuaidi100Credentials;
  /** Direct credentials, or `{ viaKuaidi100: true }` to follow SF parcels through the Kuaidi100 account. */
  sf?: { baseUrl: string; partnerId: string; checkWord: string } | { viaKuaidi100: true };
  zto?: { baseUrl: string; appKey: string; appSecret: string } | { viaKuaidi100: true };
  serviceLevelHours?: Partial<Record<CarrierCode, number>>;
  fetch?: typeof fetch;
}

export function createCarrierClients(options: CarrierClientsOptions): Record<CarrierCode, PolledCarrierClient> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const hours = { ...DEFAULT_SERVICE_LEVEL_HOURS, ...options.serviceLevelHours };
  const transport = options.fetch ? { fetch: options.fetch } : {};
  const viaKuaidi100 = (code: 'sf' | 'zto'): PolledCarrierClient => {
    if (!options.kuaidi100) return unconfigured(code, hours[code], `${code} is set to go through kuaidi100, which is not configured (KUAIDI100_CUSTOMER, KUAIDI100_KEY)`);
    // Subscribed like `kuaidi100` waybills: Kuaidi100's pushes are matched to every carrier it pushes for (`pushedBy`).
    return new Kuaidi100Carrier({ ...options.kuaidi100, ...transport, code, com: KUAIDI100_COM[code], timeoutMs, serviceLevelHours: hours[code] });
  };

  const { sf, zto, kuaidi100 } = options;
  return {
    sandbox: new SandboxCarrier({ baseUrl: options.sandbox.baseUrl, timeoutMs, serviceLevelHours: hours.sandbox, ...transport }),
    kuaidi100: kuaidi100
      ? new Kuaidi100Carrier({ ...kuaidi100, ...transport, timeoutMs, serviceLevelHours: hours.kuaidi100 })
      : unconfigured('kuaidi100', hours.kuaidi100),
    sf: !sf
      ? unconfigured('sf', hours.sf)
      : 'viaKuaidi100' in sf
        ? viaKuaidi100('sf')
        : new SfCarrier({ ...sf, ...transport, timeoutMs, serviceLevelHours: hours.sf }),
    zto: !zto
      ? unconfigured('zto', hours.zto)
      : 'viaKuaidi100' in zto
        ? viaKuaidi100('zto')
        : new ZtoCarrier({ ...zto, ...transport, timeoutMs, serviceLevelHours: hours.zto }),
  };
}

/** A carrier without credentials still has a client, so the map is total; every query is refused for good. */
/** The settings each carrier needs (src/config-providers.ts). */
const SETTINGS: Record<CarrierCode, string> = {
  sandbox: 'SANDBOX=1',
  kuaidi100: 'KUAIDI100_CUSTOMER and KUAIDI100_KEY',
  sf: 'SF_PARTNER_ID and SF_CHECK_WORD',
  zto: 'ZTO_APP_KEY and ZTO_APP_SECRET',
};

function unconfigured(code: CarrierCode, serviceLevelHours: number, why = `carrier ${code} is not configured on this deployment: set ${SETTINGS[code]}`): PolledCarrierClient {
  return {
    code,
    serviceLevelHours,
    unconfigured: why,
    minPollIntervalMs: code === 'kuaidi100' ? KUAIDI100_MIN_POLL_INTERVAL_MS : 0,
    track: () => Promise.reject(new PermanentError('carrier_rejected', why)),
  };
}
