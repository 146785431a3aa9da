import type { Config } from '../config.js';
import type { CarrierClient, CarrierCode } from '../domain/carrier.js';
import type { PushReceiver } from '../domain/tracking-ports.js';
import { createCarrierClients } from './carriers.js';
import { kuaidi100PushReceiver } from './kuaidi100.push.js';

/** The carriers this deployment uses: the sandbox carrier always (SANDBOX or not), the rest as configured. */
export function loadCarrierClients(config: Config) {
  const p = config.providers;
  return createCarrierClients({
    timeoutMs: p.carrierTimeoutMs,
    sandbox: { baseUrl: config.sandboxBaseUrl },
    ...(p.kuaidi100 ? { kuaidi100: p.kuaidi100 } : {}),
    ...(p.sf ? { sf: p.sf } : {}),
    ...(p.zto ? { zto: p.zto } : {}),
  });
}

/** Each carrier's published service level, for the first estimate of a new shipment. */
export const serviceLevelHours = (clients: Record<CarrierCode, CarrierClient>) =>
  Object.fromEntries(Object.entries(clients).map(([code, c]) => [code, c.serviceLevelHours])) as Record<CarrierCode, number>;

/** Why each carrier this deployment has no credentials for cannot track; absent for those it can. */
export const unconfiguredCarriers = (clients: Record<CarrierCode, CarrierClient>) =>
  Object.fromEntries(Object.entries(clients).flatMap(([code, c]) => (c.unconfigured ? [[code, c.unconfigured]] : []))) as Partial<Record<CarrierCode, string>>;

/** The carriers that push news to this deployment, each with what reads its pushes: Kuaidi100 when push is configured. */
export function loadPushReceivers(config: Config): Partial<Record<CarrierCode, PushReceiver>> {
  const push = config.providers.kuaidi100?.push;
  return push ? { kuaidi100: kuaidi100PushReceiver(push.salt) } : {};
}
