import { describe, expect, it } from 'vitest';
import {
  FINAL_STATUSES, ORDER, ORDER_EVENT_TYPES, PAYMENT, REFUND, SHIPMENT, STOCK, type Lifecycle, type OrderStatus,
} from '../../src/domain/order-lifecycle.js';

const machines: Array<[string, Lifecycle<string>]> = [
  ['order', ORDER], ['payment', PAYMENT], ['stock', STOCK], ['shipment', SHIPMENT], ['refund', REFUND],
];

describe('the order lifecycle tables', () => {
  it.each(machines)('%s: every state has an entry and every move names a known state and event', (_name, m) => {
    expect(Object.keys(m.spec).sort()).toEqual([...m.states].sort());
    for (const t of m.transitions()) {
      expect(m.states).toContain(t.to);
      if (t.event !== null) expect(ORDER_EVENT_TYPES).toContain(t.event);
    }
  });

  it('an order is placed or rejected from received only, and both moves report an event', () => {
    expect(ORDER.fromStatesFor('placed')).toEqual(['received']);
    expect(ORDER.fromStatesFor('placed', 'rejected')).toEqual(['received']);
    expect(ORDER.eventFor('received', 'placed')).toBe('order.placed');
    expect(ORDER.eventFor('received', 'rejected')).toBe('order.rejected');
  });

  it('cancelling is allowed before shipment only', () => {
    expect(ORDER.fromStatesFor('cancelled')).toEqual(['received', 'placed', 'paid']);
    for (const s of ['shipped', 'delivered', 'rejected', 'payment_failed', 'cancelled', 'refunded'] as OrderStatus[]) {
      expect(ORDER.canTransition(s, 'cancelled')).toBe(false);
    }
  });

  it('paid, shipped and delivered orders become refunded once fully refunded', () => {
    expect(ORDER.fromStatesFor('refunded')).toEqual(['paid', 'shipped', 'delivered']);
    expect(ORDER.eventFor('shipped', 'refunded')).toBe('order.refunded');
  });

  it('a move the table does not list is refused, and has no event', () => {
    expect(ORDER.canTransition('received', 'paid')).toBe(false);
    expect(ORDER.canTransition('payment_failed', 'paid')).toBe(false);
    expect(ORDER.eventFor('placed', 'shipped')).toBeUndefined();
    expect(ORDER.canTransition('placed', 'placed')).toBe(false);
  });

  it('the follow-up work of each state: placement while received, capture while placed, tracking while shipped', () => {
    expect(ORDER.statesNeeding('placement')).toEqual(['received']);
    expect(ORDER.statesNeeding('capture')).toEqual(['placed']);
    expect(ORDER.statesNeeding('tracking')).toEqual(['shipped']);
    expect(PAYMENT.statesNeeding('capture')).toEqual(['pending', 'action_required']);
    expect(REFUND.statesNeeding('refund')).toEqual(['pending']);
  });

  it('final order statuses need no work; only delivered may still move (to refunded)', () => {
    for (const s of FINAL_STATUSES) expect(ORDER.spec[s].work).toBeUndefined();
    expect(FINAL_STATUSES.filter((s) => !ORDER.isFinal(s))).toEqual(['delivered']);
  });

  it('a capture settles a pending payment, or one that failed (money that came late, to be refunded)', () => {
    expect(PAYMENT.fromStatesFor('captured')).toEqual(['pending', 'action_required', 'failed']);
    expect(PAYMENT.canTransition('refunded', 'captured')).toBe(false);
    expect(PAYMENT.fromStatesFor('partially_refunded', 'refunded')).toEqual(['captured', 'partially_refunded']);
  });

  it('stock moves none -> reserved -> sold | released, and sold stock is released by a cancel', () => {
    expect(STOCK.transitions().map((t) => `${t.from}>${t.to}`)).toEqual(['none>reserved', 'reserved>sold', 'reserved>released', 'sold>released']);
    expect(STOCK.isFinal('released')).toBe(true);
  });

  it('an open parcel moves wherever the carrier says; delivered and returned parcels do not move', () => {
    expect(SHIPMENT.canTransition('info_received', 'delivered')).toBe(true);
    expect(SHIPMENT.canTransition('out_for_delivery', 'in_transit')).toBe(true);
    expect(SHIPMENT.canTransition('out_for_delivery', 'failed_attempt')).toBe(true);
    expect(SHIPMENT.canTransition('failed_attempt', 'returned_to_sender')).toBe(true);
    expect(SHIPMENT.canTransition('exception', 'in_transit')).toBe(true);
    expect(SHIPMENT.canTransition('delivered', 'in_transit')).toBe(false);
    expect(SHIPMENT.canTransition('returned_to_sender', 'delivered')).toBe(false);
    expect(SHIPMENT.states.filter((s) => SHIPMENT.isFinal(s))).toEqual(['delivered', 'returned_to_sender']);
    expect(SHIPMENT.statesNeeding('tracking')).toEqual(['info_received', 'in_transit', 'out_for_delivery', 'failed_attempt', 'exception']);
    expect(SHIPMENT.eventFor('in_transit', 'delivered')).toBe('shipment.updated');
  });
});
