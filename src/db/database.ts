import pg from 'pg';
import { BaseError, ConnectionError, DatabaseError, QueryTypes, Sequelize, TimeoutError, type Transaction as DriverTransaction } from 'sequelize';
import { StoreUnavailable } from '../domain/errors.js';

/**
 * Postgres hands BIGINT (oid 20) back as a string. Money and counters here stay far below 2^53, so convert
 * here, once, and refuse loudly rather than round if a value ever is not safe.
 */
pg.types.setTypeParser(20, (v: string) => {
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new RangeError(`bigint ${v} exceeds the safe integer range`);
  return n;
});

/**
 * pg with one change: each client has an `error` listener from birth. Sequelize attaches its own only after a
 * new connection's first statements (time zone, type names), so a Postgres restart inside that window emitted
 * an `error` nobody listened to and killed the process (seen in the chaos run). The error still reaches whoever
 * is waiting on the connection, and Sequelize discards it.
 */
class GuardedClient extends pg.Client {
  constructor(config?: string | pg.ClientConfig) {
    super(config);
    this.on('error', () => undefined);
  }
}
const guardedPg = { ...pg, Client: GuardedClient };

declare const opaque: unique symbol;

/**
 * A transaction as the code sees it: a handle to hand back to `rows`, and a hook for work that must wait for
 * the commit. Only `transaction` makes one; Sequelize's own type stays inside src/db.
 */
export interface Transaction {
  /** Runs `fn` once the transaction has committed; never if it rolls back. */
  afterCommit(fn: () => void): void;
  readonly [opaque]: true;
}

export interface Database {
  /** Rows of a parameterised statement ($1, $2 ... bound, never interpolated). */
  rows<T>(sql: string, bind?: unknown[], tx?: Transaction): Promise<T[]>;
  /** Runs `fn` in one transaction; commits when it returns, rolls back when it throws. */
  transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

const drivers = new WeakMap<Database, Sequelize>();

/** The Sequelize instance behind `db`, for src/db alone: migrations' single connection, the cold paths' models. */
export function sequelizeOf(db: Database): Sequelize {
  const sequelize = drivers.get(db);
  if (!sequelize) throw new Error('not a database made by createDatabase');
  return sequelize;
}

export function createDatabase(url: string, options: { poolMax: number; logging?: boolean }): Database {
  const sequelize = new Sequelize(url, {
    dialect: 'postgres',
    dialectModule: guardedPg,
    logging: false,
    pool: { max: options.poolMax, min: 0, idle: 10_000, acquire: 10_000 },
    dialectOptions: { connectionTimeoutMillis: 5_000, application_name: 'orderworks' },
  });
  const db: Database = {
    async rows<T>(sql: string, bind: unknown[] = [], tx?: Transaction) {
      try {
        return (await sequelize.query(sql, { bind, type: QueryTypes.SELECT, transaction: (tx as DriverTransaction | undefined) ?? null })) as T[];
      } catch (error) {
        throw classify(error);
      }
    },
    async transaction(fn) {
      try {
        return await sequelize.transaction((tx) => fn(tx as unknown as Transaction));
      } catch (error) {
        throw classify(error);
      }
    },
    async ping() {
      await sequelize.query('SELECT 1', { type: QueryTypes.SELECT });
    },
    close: () => sequelize.close(),
  };
  drivers.set(db, sequelize);
  return db;
}

/**
 * SQLSTATEs that pass by themselves: connection exceptions (08, but not 08P01, a protocol violation such as a
 * wrong number of parameters: a bug), insufficient resources (53), operator intervention such as a restart or
 * a statement timeout (57), serialization failures and deadlocks (40001, 40P01), a read-only transaction on a
 * primary that just became a standby (25006), and a lock not available (55P03).
 */
const TRANSIENT_SQLSTATE = /^(08(?!P01)|53|57|40001|40P01|25006|55P03)/;

/** What Postgres's SQLSTATEs look like (classes 00 to 5x, F0, HV, P0, XX); Node's codes (ECONNRESET, EPIPE) do not. */
const SQLSTATE = /^([0-5][0-9A-Z]|F0|HV|P0|XX)[0-9A-Z]{3}$/;

/** Database failures are classified here, where they are born: a blip is transient, anything else is a bug. */
export function classify(error: unknown): unknown {
  if (!(error instanceof BaseError)) return error;
  const original = error instanceof DatabaseError ? (error.original as Error & { code?: unknown }) : undefined;
  const code = String(original?.code ?? '');
  // A DatabaseError without a SQLSTATE never reached the server's SQL: the connection broke under it
  // ("Connection terminated unexpectedly" while Postgres restarts, "read ECONNRESET", "write EPIPE",
  // ERR_STREAM_DESTROYED). A TypeError or RangeError there is our own value failing to serialise: a bug.
  const ours = original instanceof TypeError || original instanceof RangeError;
  const brokenConnection = original !== undefined && !ours && !SQLSTATE.test(code);
  if (error instanceof ConnectionError || error instanceof TimeoutError || brokenConnection || TRANSIENT_SQLSTATE.test(code)) {
    return new StoreUnavailable('the database is unavailable', { retryAfterSeconds: 5, cause: error });
  }
  return error;
}
