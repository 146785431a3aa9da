import { DatabaseError, UniqueConstraintError } from 'sequelize';
import { describe, expect, it } from 'vitest';
import { classify } from '../../src/db/database.js';
import { StoreUnavailable } from '../../src/domain/errors.js';

/** The error pg hands Sequelize when the socket under a query dies, as seen in the chaos run's web.log. */
function socketError(code: string, syscall: string): Error {
  return Object.assign(new Error(`${syscall} ${code}`), { code, syscall, errno: -104 });
}

function sqlError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code, severity: 'ERROR' });
}

describe('database error classification', () => {
  it('treats a connection reset under a query as the database being unavailable (503), not a bug (500)', () => {
    const out = classify(new DatabaseError(socketError('ECONNRESET', 'read') as never));
    expect(out).toBeInstanceOf(StoreUnavailable);
  });

  it('treats a broken pipe the same way', () => {
    expect(classify(new DatabaseError(socketError('EPIPE', 'write') as never))).toBeInstanceOf(StoreUnavailable);
  });

  it('treats a connection terminated without any code as unavailable', () => {
    expect(classify(new DatabaseError(new Error('Connection terminated unexpectedly') as never))).toBeInstanceOf(StoreUnavailable);
  });

  it('treats an admin shutdown (57P01) and a serialization failure (40001) as transient', () => {
    expect(classify(new DatabaseError(sqlError('57P01', 'terminating connection due to administrator command') as never))).toBeInstanceOf(StoreUnavailable);
    expect(classify(new DatabaseError(sqlError('40001', 'could not serialize access') as never))).toBeInstanceOf(StoreUnavailable);
  });

  it('treats a stream destroyed under a query (a Node code, no syscall) as unavailable', () => {
    expect(classify(new DatabaseError(Object.assign(new Error('Cannot call write after a stream was destroyed'), { code: 'ERR_STREAM_DESTROYED' }) as never))).toBeInstanceOf(StoreUnavailable);
  });

  it('treats a read-only transaction after a failover (25006) and a lock not available (55P03) as transient', () => {
    expect(classify(new DatabaseError(sqlError('25006', 'cannot execute UPDATE in a read-only transaction') as never))).toBeInstanceOf(StoreUnavailable);
    expect(classify(new DatabaseError(sqlError('55P03', 'could not obtain lock on row') as never))).toBeInstanceOf(StoreUnavailable);
  });

  it('leaves a protocol violation (08P01: a wrong number of parameters) and a value that fails to serialise as bugs', () => {
    const params = new DatabaseError(sqlError('08P01', 'bind message supplies 3 parameters, but prepared statement "" requires 4') as never);
    expect(classify(params)).toBe(params);
    const value = new DatabaseError(new TypeError('Do not know how to serialize a BigInt') as never);
    expect(classify(value)).toBe(value);
  });

  it('leaves a real SQL error (syntax, constraint) as it is, so it surfaces as a bug', () => {
    const syntax = new DatabaseError(sqlError('42601', 'syntax error at or near "SELEC"') as never);
    expect(classify(syntax)).toBe(syntax);
    const unique = new UniqueConstraintError({ message: 'duplicate key' });
    expect(classify(unique)).toBe(unique);
  });
});
