import type { Database } from '../../db/database.js';
import type { PaymentMethod } from '../../domain/order.js';

export type FaultMode = 'error500' | 'timeout' | 'rate_limit';

/** How stale the copy of the faults table that requests are checked against may be. */
const FAULTS_FRESH_MS = 1_000;

/** Injected faults (POST /sandbox/faults), kept in Postgres so that every web process plays them. */
export function createSandboxFaults(db: Database) {
  let faults: { readAt: number; rows: Promise<Array<{ method: PaymentMethod; mode: FaultMode; until: Date }>> } | undefined;
  return {
    /**
     * Asked before every request, so read from a copy of the faults table at most FAULTS_FRESH_MS old: a real
     * provider does not make its callers pay a query per request for this. A fault set through this process
     * shows at once; one set through another web process within FAULTS_FRESH_MS.
     */
    async activeFault(method: PaymentMethod): Promise<FaultMode | undefined> {
      if (!faults || Date.now() - faults.readAt > FAULTS_FRESH_MS) {
        const read = { readAt: Date.now(), rows: db.rows<{ method: PaymentMethod; mode: FaultMode; until: Date }>(
          `SELECT method, mode, until FROM sandbox_faults WHERE mode <> 'none' AND until > now()`,
        ) };
        faults = read;
        read.rows.catch(() => {
          if (faults === read) faults = undefined;
        });
      }
      const fault = (await faults.rows).find((f) => f.method === method);
      return fault && new Date(fault.until).getTime() > Date.now() ? fault.mode : undefined;
    },
    async setFault(method: PaymentMethod, mode: FaultMode | 'none', forMs: number): Promise<Date> {
      const [row] = await db.rows<{ until: Date }>(
        `INSERT INTO sandbox_faults (method, mode, until) VALUES ($1, $2, now() + make_interval(secs => $3::double precision / 1000))
         ON CONFLICT (method) DO UPDATE SET mode = EXCLUDED.mode, until = EXCLUDED.until RETURNING until`,
        [method, mode, forMs],
      );
      faults = undefined;
      return row!.until;
    },
  };
}
