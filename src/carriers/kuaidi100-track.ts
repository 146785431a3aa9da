import { z } from 'zod';
import type { TrackingEvent, TrackingSnapshot } from '../domain/carrier.js';
import { latestStatus, oldestFirst, parseChinaTime } from './http.js';
import { kuaidi100State, kuaidi100StatusName } from './kuaidi100-states.js';

const code = z.union([z.string(), z.number()]);

/**
 * A waybill's tracking result as Kuaidi100 gives it: the answer of a real-time query, and the `lastResult` of a
 * push (newest event first there; a query asked with order=asc gives the oldest first). One reading for both.
 */
export const kuaidi100Track = z.object({
  state: code.transform(String),
  nu: z.string().optional(),
  com: z.string().nullish(),
  data: z
    .array(
      z.object({
        ftime: z.string().optional(),
        time: z.string().optional(),
        context: z.string().default(''),
        areaName: z.string().nullish(),
        location: z.string().nullish(),
        status: z.string().nullish(),
        statusCode: code.nullish(),
      }),
    )
    .default([]),
  arrivalTime: z.string().nullish(),
});
export type Kuaidi100Track = z.infer<typeof kuaidi100Track>;

/** The parcel's status is the top-level `state`, falling back to the latest event's (src/carriers/README.md). */
export function kuaidi100Snapshot(track: Kuaidi100Track): TrackingSnapshot {
  const overall = kuaidi100State(track.state);
  const events = oldestFirst(track.data.flatMap((d) => toEvent(d)));
  // An event without a code or name of its own (plain resultv2=0 answers): the latest one is in the
  // parcel's overall state, the earlier ones were on the way.
  const settled = events.map((e, i) => ({ ...e, status: e.status ?? (i === events.length - 1 ? overall : null) ?? 'in_transit' }));
  return {
    status: overall ?? latestStatus(settled),
    events: settled,
    estimatedDeliveryAt: parseChinaTime(track.arrivalTime),
  };
}

type Unsettled = Omit<TrackingEvent, 'status'> & { status: TrackingEvent['status'] | null };

function toEvent(d: Kuaidi100Track['data'][number]): Unsettled[] {
  const at = parseChinaTime(d.ftime ?? d.time);
  if (!at) return [];
  const status = kuaidi100State(d.statusCode) ?? kuaidi100StatusName(d.status);
  return [{ at, status, description: d.context, location: d.areaName || d.location || null }];
}
