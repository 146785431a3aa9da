import type { CarrierClient } from '../../src/domain/carrier.js';
import { receivePush } from '../../src/domain/tracking-push.service.js';
import type { CarrierPush, ShipmentStore } from '../../src/domain/tracking-ports.js';

/**
 * Applies a push as Kuaidi100's, already verified, through the push service the web process uses: for tests of
 * the store alone. Kuaidi100 pushes for its own waybills; no carrier is asked anything. Refunds the push would
 * start are collected in `refunds`.
 */
export function verifiedKuaidi100Push(shipments: ShipmentStore, refunds: unknown[] = []) {
  const reply = { status: 200, contentType: 'application/json', body: '{}' };
  const untracked: CarrierClient = { code: 'kuaidi100', serviceLevelHours: 72, track: async () => { throw new Error('not asked here'); } };
  return (push: CarrierPush) =>
    receivePush(
      {
        shipments, refreshEveryMs: 60_000, jobs: { refund: async (r) => Boolean(refunds.push(r)) },
        carriers: { sandbox: untracked, kuaidi100: { ...untracked, subscribe: async () => undefined, pushedBy: 'kuaidi100' }, sf: untracked, zto: untracked },
        receivers: { kuaidi100: { read: () => ({ verified: true as const, push, reply }) } },
      },
      'kuaidi100',
      Buffer.from('{}'),
    );
}
