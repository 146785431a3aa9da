import { Router } from 'express';
import type { Database } from '../db/database.js';
import type { Logger } from '../logger.js';
import { sandboxCarrierRouter } from './carrier/sandbox-carrier.router.js';
import { sandboxPaymentsRouter } from './payments/sandbox-payments.router.js';
import { loadSandboxCredentials } from './sandbox-credentials.js';

/**
 * Everything served under /sandbox when SANDBOX=1: the four payment providers (with their ledger at
 * /sandbox/charges and the buyer's checkout page at /sandbox/checkout) and the sandbox carrier. Mounted before any body parser: providers verify signatures
 * over the exact bytes they received.
 */
export async function sandboxRouter(deps: { db: Database; logger: Logger; publicUrl: string; baseUrl?: string }): Promise<Router> {
  const router = Router();
  router.use(sandboxCarrierRouter({ db: deps.db }));
  router.use(
    sandboxPaymentsRouter({
      db: deps.db,
      credentials: await loadSandboxCredentials(deps.db),
      logger: deps.logger,
      webhookUrl: `${deps.publicUrl}/v1/payments/notify/{method}`,
      ...(deps.baseUrl ? { baseUrl: deps.baseUrl } : {}),
    }),
  );
  return router;
}
