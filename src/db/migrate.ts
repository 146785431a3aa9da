import { Umzug, SequelizeStorage } from 'umzug';
import type { Database } from './database.js';
import { migrations } from './migrations/index.js';
import type { Logger } from '../logger.js';

/** An arbitrary constant: the advisory lock that makes concurrent `release` runs take turns. */
const MIGRATION_LOCK = 720_401;

/** Applies pending migrations. Idempotent and safe to run from several processes at once. */
export async function migrate(db: Database, logger?: Logger): Promise<string[]> {
  const qi = db.sequelize.getQueryInterface();
  const umzug = new Umzug({
    migrations: migrations.map((m) => ({
      name: m.name,
      up: async () => {
        await db.sequelize.query(m.up);
      },
    })),
    context: qi,
    storage: new SequelizeStorage({ sequelize: db.sequelize, tableName: 'schema_migrations' }),
    logger: undefined,
  });
  // A session-level advisory lock needs one connection for lock and unlock: hold it in a transaction.
  return db.transaction(async (tx) => {
    await db.rows('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK], tx);
    const applied = await umzug.up();
    const names = applied.map((m) => m.name);
    if (names.length) logger?.info({ migrations: names }, 'migrations applied');
    return names;
  });
}
