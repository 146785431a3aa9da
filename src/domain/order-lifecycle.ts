/**
 * The order's life, as data: every status an order, its payment, its stock, its shipments and its refunds can
 * have, where each may move next, the event the shop hears when it does (docs/api.md section 8), and the
 * follow-up work each state needs. Modelled on Vendure's default order process (`State: { to: [...] }`).
 *
 * The repositories write these moves as conditional SQL (`UPDATE ... WHERE status = ANY($from)`, what makes a
 * retry safe) with `$from` taken from here, the schema's CHECK constraints hold the same values, and a test
 * checks every status-writing statement against these tables. A new state or move starts here.
 */

/** The events a shop hears about. */
export const ORDER_EVENT_TYPES = [
  'order.placed', 'order.rejected', 'order.payment_action_required', 'order.paid', 'order.payment_failed', 'order.shipped', 'shipment.updated',
  'shipment.delayed', 'order.delivered', 'order.cancelled', 'order.refunded', 'return.requested', 'return.received',
  'return.cancelled',
] as const;
export type OrderEventType = (typeof ORDER_EVENT_TYPES)[number];

/**
 * Work that must be under way while something is in a state; if its job is lost, the reconciler starts it
 * again. `tracking` is the shipments' poll schedule rather than a job per order.
 */
export type FollowUp = 'placement' | 'capture' | 'tracking' | 'refund';

interface StateSpec<S extends string> {
  /** The states it may move to, each with the event the shop hears then (null: none of its own). */
  readonly to: { readonly [T in S]?: OrderEventType | null };
  readonly work?: FollowUp;
}

export interface Lifecycle<S extends string> {
  /** Every state; the first is where each one starts. */
  readonly states: readonly S[];
  readonly initial: S;
  readonly spec: { readonly [K in S]: StateSpec<S> };
  canTransition(from: S, to: S): boolean;
  /** The states from which every one of `to` may be reached: a conditional UPDATE's `WHERE status = ANY(...)`. */
  fromStatesFor(...to: S[]): S[];
  /** The event a move reports; undefined when the move is not allowed. */
  eventFor(from: S, to: S): OrderEventType | null | undefined;
  /** The states whose follow-up work is `work`. */
  statesNeeding(work: FollowUp): S[];
  /** States nothing moves out of. */
  isFinal(state: S): boolean;
  /** Every allowed move, for tests and documentation. */
  transitions(): Array<{ from: S; to: S; event: OrderEventType | null }>;
}

function lifecycle<const S extends string>(states: readonly S[], spec: { readonly [K in S]: StateSpec<S> }): Lifecycle<S> {
  const moves = (from: S) => Object.keys(spec[from]?.to ?? {}) as S[];
  return Object.freeze({
    states,
    initial: states[0]!,
    spec,
    canTransition: (from: S, to: S) => Object.hasOwn(spec[from]?.to ?? {}, to),
    fromStatesFor: (...to: S[]) => states.filter((s) => to.every((t) => moves(s).includes(t))),
    eventFor: (from: S, to: S) => (Object.hasOwn(spec[from]?.to ?? {}, to) ? (spec[from].to[to] ?? null) : undefined),
    statesNeeding: (work: FollowUp) => states.filter((s) => spec[s].work === work),
    isFinal: (state: S) => moves(state).length === 0,
    transitions: () => states.flatMap((from) => moves(from).map((to) => ({ from, to, event: spec[from].to[to] ?? null }))),
  });
}

export const ORDER_STATUSES = [
  'received', 'placed', 'paid', 'shipped', 'delivered', 'rejected', 'payment_failed', 'cancelled', 'refunded',
] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

/** The order (`orders.status`), as the shop sees it. */
export const ORDER = lifecycle(ORDER_STATUSES, {
  // Accepted and durable; placement prices it and reserves its stock, all or nothing.
  received: { to: { placed: 'order.placed', rejected: 'order.rejected', cancelled: 'order.cancelled' }, work: 'placement' },
  // Stock held; the capture charges it, or gives up when the hold expires or its attempts run out.
  placed: { to: { paid: 'order.paid', payment_failed: 'order.payment_failed', cancelled: 'order.cancelled' }, work: 'capture' },
  // Nothing of ours to do until the shop ships it.
  paid: { to: { shipped: 'order.shipped', cancelled: 'order.cancelled', refunded: 'order.refunded' } },
  // Its parcels are polled until every one is delivered.
  shipped: { to: { delivered: 'order.delivered', refunded: 'order.refunded' }, work: 'tracking' },
  delivered: { to: { refunded: 'order.refunded' } },
  rejected: { to: {} },
  payment_failed: { to: {} },
  // A cancelled order keeps its status while what it had captured is refunded (see REFUND).
  cancelled: { to: {} },
  refunded: { to: {} },
});
/** Statuses with no more work of ours (a delivered order may still be refunded by the shop). */
export const FINAL_STATUSES: readonly OrderStatus[] = ['delivered', 'rejected', 'payment_failed', 'cancelled', 'refunded'];

export const PAYMENT_STATUSES = ['pending', 'action_required', 'captured', 'failed', 'partially_refunded', 'refunded'] as const;
export type PaymentStatus = (typeof PAYMENT_STATUSES)[number];

/** The payment (`orders.payment_status`). A capture is reported by the order's own move (`order.paid`). */
export const PAYMENT = lifecycle(PAYMENT_STATUSES, {
  pending: { to: { action_required: 'order.payment_action_required', captured: null, failed: null }, work: 'capture' },
  // The trade is open at the provider and waits for the buyer; the capture job follows it until it is paid,
  // closed or past the hold (then it closes it at the provider first).
  // The buyer switching method goes back to `pending`: a new trade, its predecessor closed at the provider.
  action_required: { to: { captured: null, failed: null, pending: null }, work: 'capture' },
  // Money that arrives after the order gave up is recorded, then refunded in full.
  failed: { to: { captured: null } },
  captured: { to: { partially_refunded: 'order.refunded', refunded: 'order.refunded' } },
  partially_refunded: { to: { partially_refunded: 'order.refunded', refunded: 'order.refunded' } },
  refunded: { to: {} },
});

export const STOCK_STATES = ['none', 'reserved', 'sold', 'released'] as const;
export type StockState = (typeof STOCK_STATES)[number];

/** The order's stock (`orders.stock_state`): each move changes products' stock or reserved exactly once. */
export const STOCK = lifecycle(STOCK_STATES, {
  none: { to: { reserved: null } },
  // `reserved` counts in products.reserved; paying sells it, failing or cancelling gives it back.
  reserved: { to: { sold: null, released: null } },
  // Sold stock goes back to `stock` when a paid order is cancelled.
  sold: { to: { released: null } },
  released: { to: {} },
});

export const SHIPMENT_STATUSES = [
  'info_received', 'in_transit', 'out_for_delivery', 'failed_attempt', 'delivered', 'returned_to_sender', 'exception',
] as const;
export type ShipmentStatus = (typeof SHIPMENT_STATUSES)[number];

/**
 * An open parcel moves wherever its carrier says: we record the carrier's word, we do not decide it. Its latest
 * word, by the time of its events: an answer older than what the parcel has moves nothing (the store's `applyPoll`).
 */
const carrierMoves = (from: ShipmentStatus) =>
  Object.fromEntries(SHIPMENT_STATUSES.filter((s) => s !== from).map((s) => [s, 'shipment.updated' as const]));

/** A shipment (`shipments.status`). Every change is `shipment.updated`; the order's `delivered` follows the last. */
export const SHIPMENT = lifecycle(SHIPMENT_STATUSES, {
  info_received: { to: carrierMoves('info_received'), work: 'tracking' },
  in_transit: { to: carrierMoves('in_transit'), work: 'tracking' },
  out_for_delivery: { to: carrierMoves('out_for_delivery'), work: 'tracking' },
  // The courier tried and will try again (or the parcel goes back): still moving.
  failed_attempt: { to: carrierMoves('failed_attempt'), work: 'tracking' },
  delivered: { to: {} },
  // Back with the sender: nothing more will happen to this parcel.
  returned_to_sender: { to: {} },
  // A carrier's exception often clears (a parcel found, a return under way): polled more slowly, and given up
  // after EXCEPTION_GIVE_UP_MS without news (src/domain/tracking.service.ts). Giving up keeps this status: it
  // ends our following of the parcel (`shipments.tracking_ended_at`), not the carrier's word about it.
  exception: { to: carrierMoves('exception'), work: 'tracking' },
});

export const REFUND_STATUSES = ['pending', 'succeeded', 'failed'] as const;
export type RefundStatus = (typeof REFUND_STATUSES)[number];

/** A refund (`refunds.status`): sent to the provider once, keyed on its id. */
export const REFUND = lifecycle(REFUND_STATUSES, {
  pending: { to: { succeeded: 'order.refunded', failed: null }, work: 'refund' },
  succeeded: { to: {} },
  failed: { to: {} },
});

export const RETURN_STATUSES = ['requested', 'received', 'cancelled'] as const;
export type ReturnStatus = (typeof RETURN_STATUSES)[number];

/**
 * A return (`returns.status`): created `requested` (`return.requested`), `received` once, by its parcel's
 * delivery or by the shop; the refund of its lines and its restock happen with that move. Until then the shop
 * may cancel it (the buyer changed their mind, or the shop refuses it): its lines are free to be returned again,
 * and its parcel is no longer followed, so its delivery receives nothing.
 */
export const RETURN = lifecycle(RETURN_STATUSES, {
  requested: { to: { received: 'return.received', cancelled: 'return.cancelled' } },
  received: { to: {} },
  cancelled: { to: {} },
});
