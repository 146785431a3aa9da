/**
 * The one error hierarchy. Each error is classified where it is born: a `code` that never changes, and
 * whether retrying could help. The HTTP layer maps codes to statuses; the job runner maps `permanent`.
 */
export type ErrorCode =
  | 'validation_failed'
  | 'not_found'
  | 'conflict'
  | 'limit_reached'
  | 'idempotency_key_reused'
  | 'unauthorized'
  | 'dependency_unavailable'
  | 'payment_declined'
  | 'provider_rejected'
  | 'provider_unavailable'
  | 'carrier_unavailable'
  | 'carrier_rejected'
  | 'rate_limited'
  | 'invariant_violated';

export interface FieldIssue {
  path: string;
  message: string;
}

export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly options: {
      permanent?: boolean;
      fields?: FieldIssue[];
      retryAfterSeconds?: number;
      /** The call may have taken effect (a timeout after sending): look it up before repeating it. */
      ambiguous?: boolean;
      cause?: unknown;
    } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'DomainError';
  }

  /** A permanent error will fail the same way however often it is retried. */
  get permanent(): boolean {
    return this.options.permanent ?? true;
  }
}

/** A failure that retrying cannot fix: the job runner stops retrying at once. */
export class PermanentError extends DomainError {
  constructor(code: ErrorCode, message: string, options: { fields?: FieldIssue[]; cause?: unknown } = {}) {
    super(code, message, { ...options, permanent: true });
    this.name = 'PermanentError';
  }
}

/** A failure that may pass by itself (a provider's 503, a timeout, a database restart). */
export class TransientError extends DomainError {
  constructor(code: ErrorCode, message: string, options: { retryAfterSeconds?: number; ambiguous?: boolean; cause?: unknown } = {}) {
    super(code, message, { ...options, permanent: false });
    this.name = 'TransientError';
  }
}

/**
 * One item (a waybill) was asked about too recently for the service's per-item rule, though the service has room
 * for others: only that item waits (a carrier-wide `rate_limited` puts off the rest of a batch too).
 */
export class AskedTooSoon extends TransientError {
  constructor(message: string, options: { retryAfterSeconds: number }) {
    super('rate_limited', message, options);
    this.name = 'AskedTooSoon';
  }
}

/**
 * Our own store (Postgres) cannot be reached: transient like any outage, but not a failure of the work that
 * met it. Jobs wait for it without spending attempts (the job runner); requests answer 503 with Retry-After.
 */
export class StoreUnavailable extends TransientError {
  constructor(message: string, options: { retryAfterSeconds?: number; cause?: unknown } = {}) {
    super('dependency_unavailable', message, options);
    this.name = 'StoreUnavailable';
  }
}

export const notFound = (what: string) => new DomainError('not_found', `${what} not found`);
export const conflict = (message: string) => new DomainError('conflict', message);
/** One more would pass a cap on how many of something an order or a shop may have: a 409 of its own type. */
export const limitReached = (message: string) => new DomainError('limit_reached', message);

/**
 * Not a failure: the work has to wait (a lock another run holds, a deliberate yield). The job runner puts the
 * job back for `delayMs` without using up one of its attempts, so the attempt budget counts failures only.
 */
export class Postponed extends Error {
  constructor(message: string, readonly delayMs: number) {
    super(message);
    this.name = 'Postponed';
  }
}
