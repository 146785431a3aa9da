import type { Transaction } from 'sequelize';
import type { Database } from './database.js';
import { recordOrderEvents, type OrderEventType } from '../webhooks/order-events.js';

/**
 * The transactional outbox as the repositories use it: an event is written in the same transaction as the
 * state change it reports, and once that transaction commits, `notify` starts its delivery. A notify that
 * is lost (the process dies right after the commit) is made good by the repair sweep.
 */
export interface EventOutbox {
  record(tx: Transaction, e: { orderId: string; shopId: string; type: OrderEventType }): Promise<void>;
  /** `record` for many events in one statement, in the order given (a batch of orders placed together). */
  recordMany(tx: Transaction, events: ReadonlyArray<{ orderId: string; shopId: string; type: OrderEventType }>): Promise<void>;
}

export function createEventOutbox(db: Database, notify: (orderId: string) => void = () => undefined): EventOutbox {
  const recordMany: EventOutbox['recordMany'] = async (tx, events) => {
    const orderIds = new Set((await recordOrderEvents(db, tx, events)).map((r) => r.orderId));
    if (orderIds.size) tx.afterCommit(() => orderIds.forEach((id) => notify(id)));
  };
  return { record: (tx, e) => recordMany(tx, [e]), recordMany };
}
