import { DomainError, Postponed, TransientError } from '../domain/errors.js';
import type { OutboxEvent, SendResult, WebhookSender, WebhookStore } from './webhook-ports.js';
import { SIGNATURE_HEADER, signWebhook } from './webhook-signature.js';
import { RETRY_HORIZON_MS } from '../../jobs/webhook-delivery.job.js';
import type { OrderRef } from '../domain/keys.js';

const MAX_RUN_MS = 2 * 60_000;
/**
 * How long a job waits when another run holds the order's lease. That run sends whatever is pending when it
 * reads next, so this job mostly finds nothing left; it only has to come back after the run has ended.
 */
export const LEASE_WAIT_MS = 5_000;
/** A run that yielded goes back to the end of the queue, and runs again as soon as a worker is free. */
const YIELD_MS = 0;

export interface WebhookDeliveryDeps {
  store: WebhookStore;
  sender: WebhookSender;
  /** The order exactly as `GET /v1/orders/{id}` shows it (the lead's orderView over the order store). */
  renderOrder(shopId: string, orderId: string): Promise<unknown>;
  /** A transient failure of an event older than this fails it for good (tests shrink it). */
  retryHorizonMs?: number;
  now?: () => number;
}

export interface DeliveryRun {
  delivered: number;
  failed: number;
  skipped: number;
}

/**
 * The `webhook-delivery` job: sends an order's pending events, oldest first, one at a time, under the
 * order's lock (so two jobs of one order never interleave and events arrive in order). A job that finds the
 * lock taken waits (`Postponed`): waiting is not a failed attempt.
 *
 * - no webhookUrl (now): the event is `skipped`, never sent later even if the shop adds a URL;
 * - 2xx: `delivered`, on to the next event;
 * - 5xx, 408, 429, a timeout or a network error: a TransientError, so the queue retries with backoff and the
 *   later events wait behind this one. Past the retry horizon the event is `failed` and the next one goes;
 * - any other answer (4xx, a redirect, a refused address): the shop's endpoint refused this event for good.
 *   It is `failed` (the log says why) and the following events go on: one bad event must not block an order's
 *   events forever, and the shop can redeliver it once its endpoint is fixed.
 * Delivery is at least once: a worker dying between the POST and the bookkeeping sends that event again.
 */
export async function deliverOrderEvents(deps: WebhookDeliveryDeps, order: OrderRef): Promise<DeliveryRun> {
  const locked = await deps.store.withOrderLock(order, () => drain(deps, order));
  if (!locked.acquired) throw new Postponed('another delivery of this order is running', LEASE_WAIT_MS);
  return locked.value;
}

/**
 * A shop's redelivery of one event: sent again as a new attempt, whatever its state, once (a failed attempt
 * is logged, not retried). A still-pending event just goes through the ordinary, in-order delivery now.
 */
export async function redeliverEvent(deps: WebhookDeliveryDeps, order: OrderRef, eventId: string): Promise<DeliveryRun> {
  const locked = await deps.store.withOrderLock(order, async () => {
    const event = await deps.store.event(order, eventId);
    if (!event) return { delivered: 0, failed: 0, skipped: 0 };
    // Pending: its own job retries it; this is one extra, in-order try now, and a failure leaves it to that job.
    if (event.state === 'pending') return drain(deps, order, { rethrow: false });
    if (!event.webhookUrl) return { delivered: 0, failed: 0, skipped: 1 };
    const r = await attempt(deps, event, event.webhookUrl, { retrying: false });
    return { delivered: r.kind === 'delivered' ? 1 : 0, failed: r.kind === 'delivered' ? 0 : 1, skipped: 0 };
  });
  if (!locked.acquired) throw new Postponed('another delivery of this order is running', LEASE_WAIT_MS);
  return locked.value;
}

async function drain(deps: WebhookDeliveryDeps, order: OrderRef, opts = { rethrow: true }): Promise<DeliveryRun> {
  const run: DeliveryRun = { delivered: 0, failed: 0, skipped: 0 };
  const horizon = deps.retryHorizonMs ?? RETRY_HORIZON_MS;
  const now = deps.now ?? Date.now;
  const started = Date.now();
  // Read afresh each time round: an event recorded while this runs is sent by this run, in order.
  for (let event = await deps.store.nextPending(order); event; event = await deps.store.nextPending(order)) {
    // A long run yields now and then (its job runs again, without using an attempt), so one order cannot hog a worker.
    if (Date.now() - started > MAX_RUN_MS) throw new Postponed('delivery run yields to stay inside its lease', YIELD_MS);
    if (!event.webhookUrl) {
      await deps.store.settle(event, 'skipped');
      run.skipped++;
      continue;
    }
    const expired = now() - event.createdAt.getTime() >= horizon;
    const r = await attempt(deps, event, event.webhookUrl, { retrying: !expired });
    if (r.kind === 'delivered') run.delivered++;
    else if (r.kind === 'permanent' || expired) run.failed++;
    else if (opts.rethrow) throw new TransientError('dependency_unavailable', `webhook ${event.type} ${event.id} not delivered: ${r.error}`);
    else return run;
  }
  return run;
}

/** One POST of one event, logged, and the event settled when the outcome is final. */
async function attempt(deps: WebhookDeliveryDeps, event: OutboxEvent, url: string, opts: { retrying: boolean }): Promise<SendResult> {
  const body = event.payload ?? (await deps.store.fixPayload(event, await buildBody(deps, event)));
  const n = await deps.store.beginAttempt(event);
  const r = await deps.sender.post(url, body, { [SIGNATURE_HEADER]: signWebhook(event.webhookSecret, body) });
  const outcome = r.kind === 'delivered' ? 'delivered' : r.kind === 'transient' && opts.retrying ? 'retrying' : 'failed';
  await deps.store.logAttempt({
    eventId: event.id, shopId: event.shopId, url, attempt: n, statusCode: r.statusCode, error: r.kind === 'delivered' ? null : r.error,
    durationMs: r.durationMs, outcome,
  });
  if (outcome !== 'retrying') await deps.store.settle(event, outcome);
  return r;
}

/** The body, built once: the order as it is at the first attempt (a later attempt resends these bytes). */
async function buildBody(deps: WebhookDeliveryDeps, e: OutboxEvent): Promise<string> {
  const order = await deps.renderOrder(e.shopId, e.orderId);
  if (!order) throw new DomainError('invariant_violated', `event ${e.id}: order ${e.orderId} not found`, { permanent: false });
  return JSON.stringify({ id: e.id, type: e.type, createdAt: e.createdAt.toISOString(), data: { order } });
}
