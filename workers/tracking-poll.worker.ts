import { trackingPollJob } from '../jobs/tracking-poll.job.js';
import { CARRIERS, type CarrierCode } from '../src/domain/carrier.js';
import { PermanentError } from '../src/domain/errors.js';
import { fanOutPolls, pollShipments, type TrackingDeps } from '../src/domain/tracking.service.js';
import type { Logger } from '../src/logger.js';
import type { ShopLookup } from '../src/domain/keys.js';
import { shipmentsOfJob } from './job-shop.js';
import { runner } from './job-runner.js';

/** `tracking-poll`: the scheduled fan-out, and the polls of one carrier's batch of shipments. */
export function trackingPollProcessor(deps: TrackingDeps & { shops: ShopLookup; logger: Logger }) {
  return runner(
    trackingPollJob,
    async (job, { log }) => {
      if (job.kind === 'fan-out') {
        const result = await fanOutPolls(deps);
        if (result.shipments > 0 || result.delayed > 0 || result.givenUp > 0) log.info(result, 'tracking fan-out');
        return result;
      }
      if (!isCarrier(job.carrier)) throw new PermanentError('carrier_rejected', `unknown carrier ${job.carrier}`);
      const shipments = await shipmentsOfJob(deps.shops, job);
      const result = await pollShipments(deps, job.carrier, shipments, job.until === undefined ? undefined : new Date(job.until));
      if (result.broken) log.error({ carrier: job.carrier, ...result }, 'tracking poll: parcels met an error of ours and wait; the rest of the batch was asked');
      else log.info({ carrier: job.carrier, ...result }, 'tracking poll');
      return result;
    },
    deps.logger,
  );
}

const isCarrier = (code: string): code is CarrierCode => (CARRIERS as readonly string[]).includes(code);
