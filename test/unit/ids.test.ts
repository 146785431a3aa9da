import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { fingerprint, isUuid, newOrderId } from '../../src/domain/ids.js';

describe('newOrderId', () => {
  it('is a UUIDv7 whose first 48 bits are the milliseconds given', () => {
    const id = newOrderId(0x0123_4567_89ab);
    expect(isUuid(id)).toBe(true);
    expect(id.slice(0, 13)).toBe('01234567-89ab');
    expect(id[14]).toBe('7');
    expect('89ab').toContain(id[19]);
  });

  it('never repeats, across many pages of random bytes, and sorts by time', () => {
    const ids = Array.from({ length: 5_000 }, (_, i) => newOrderId(1_700_000_000_000 + i));
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
    expect(ids.every((id) => id[14] === '7' && '89ab'.includes(id[19]!))).toBe(true);
  });

  it('refuses a time a UUIDv7 cannot hold', () => {
    expect(() => newOrderId(2 ** 48)).toThrow(RangeError);
    expect(() => newOrderId(-1)).toThrow(RangeError);
  });
});

describe('fingerprint', () => {
  // Stored orders carry it: a replay after a deploy must hash the same, so the text hashed is pinned here.
  it('is the SHA-256 of the JSON with object keys sorted and undefined members left out', () => {
    const value = { b: 1, a: [1, { d: 2, c: null, u: undefined }], é: 'x', B: true };
    const canonical = '{"B":true,"a":[1,{"c":null,"d":2}],"b":1,"é":"x"}';
    expect(fingerprint(value)).toBe(createHash('sha256').update(canonical).digest('hex'));
  });

  it('does not depend on key order', () => {
    expect(fingerprint({ x: { p: 1, q: [2, 3] }, y: 'z' })).toBe(fingerprint({ y: 'z', x: { q: [2, 3], p: 1 } }));
    expect(fingerprint({ x: [2, 3] })).not.toBe(fingerprint({ x: [3, 2] }));
  });
});
