import type { Database } from '../../db/database.js';
import { nextSandboxEvent, type SandboxEvent } from './sandbox-parcel.js';

export const FAULT_MODES = ['error500', 'timeout', 'rate_limit', 'none'] as const;
export type FaultMode = (typeof FAULT_MODES)[number];

export interface ActiveFault {
  mode: Exclude<FaultMode, 'none'>;
  until: Date;
}

/** The sandbox carrier's Postgres state: parcels and the injected fault. */
export class SandboxCarrierStore {
  constructor(private readonly db: Database) {}

  /**
   * One tracking query: creates the parcel on first sight, else moves it one step along its script. The row
   * lock makes two concurrent queries two steps, never the same step twice.
   */
  refresh(trackingNumber: string, now: Date): Promise<SandboxEvent[]> {
    return this.db.transaction(async (tx) => {
      await this.db.rows('INSERT INTO sandbox_carrier_parcels (tracking_number) VALUES ($1) ON CONFLICT DO NOTHING', [trackingNumber], tx);
      const [row] = await this.db.rows<{ events: SandboxEvent[] }>(
        'SELECT events FROM sandbox_carrier_parcels WHERE tracking_number = $1 FOR UPDATE',
        [trackingNumber],
        tx,
      );
      const sofar = row?.events ?? [];
      const next = nextSandboxEvent(trackingNumber, sofar, now);
      const events = next ? [...sofar, next] : sofar;
      await this.db.rows(
        'UPDATE sandbox_carrier_parcels SET events = $2::jsonb, queries = queries + 1, updated_at = now() WHERE tracking_number = $1',
        [trackingNumber, JSON.stringify(events)],
        tx,
      );
      return events;
    });
  }

  /** A parcel's events without moving it on (for people looking at the sandbox), or null if never queried. */
  async peek(trackingNumber: string): Promise<SandboxEvent[] | null> {
    const [row] = await this.db.rows<{ events: SandboxEvent[] }>('SELECT events FROM sandbox_carrier_parcels WHERE tracking_number = $1', [trackingNumber]);
    return row?.events ?? null;
  }

  async activeFault(now: Date): Promise<ActiveFault | null> {
    const [row] = await this.db.rows<{ mode: FaultMode; until: Date }>('SELECT mode, until FROM sandbox_carrier_faults WHERE until > $1', [now.toISOString()]);
    if (!row || row.mode === 'none') return null;
    return { mode: row.mode, until: new Date(row.until) };
  }

  async setFault(mode: FaultMode, until: Date): Promise<void> {
    await this.db.rows(
      `INSERT INTO sandbox_carrier_faults (id, mode, until) VALUES (true, $1, $2)
       ON CONFLICT (id) DO UPDATE SET mode = EXCLUDED.mode, until = EXCLUDED.until, updated_at = now()`,
      [mode, until.toISOString()],
    );
  }
}
