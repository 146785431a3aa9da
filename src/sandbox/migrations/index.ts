import { migrations, type Migration } from '../../db/migrations/index.js';
import * as m000002 from './000002-sandbox-payments.js';
import * as m000003 from './000003-sandbox-carrier.js';
import * as m000008 from './000008-sandbox-charge-keys.js';
import * as s000004 from './sandbox-000004-trades.js';

/**
 * The sandbox's own tables, applied only where the sandbox runs (SANDBOX=1): a production schema never holds
 * them. They share the `schema_migrations` record with the core set, so the first three keep the names under
 * which older releases applied them as part of that set, and a database that has them does not run them again.
 * Forward-only and applied in order, like the core set; never edit one that has shipped.
 */
export const sandboxMigrations: readonly Migration[] = [
  { name: '000002-sandbox-payments', up: m000002.up },
  { name: '000003-sandbox-carrier', up: m000003.up },
  { name: '000008-sandbox-charge-keys', up: m000008.up },
  { name: 'sandbox-000004-trades', up: s000004.up },
];

/** What a deployment with SANDBOX=1 migrates: the core set, then the sandbox's. */
export const migrationsWithSandbox: readonly Migration[] = [...migrations, ...sandboxMigrations];
