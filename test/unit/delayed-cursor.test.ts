import { describe, expect, it } from 'vitest';
import { delayedCursor, readDelayedCursor } from '../../src/domain/delayed-cursor.js';

const id = '0190a5b2-7c3d-7e4f-8a1b-2c3d4e5f6a7b';

describe('the late parcels cursor', () => {
  it('reads back the position it carries, to the microsecond', () => {
    const p = { id, delayedSinceUs: '1735689600000001' };
    const cursor = delayedCursor(p);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(readDelayedCursor(cursor)).toEqual(p);
  });

  it('still reads the earlier form, a bare id, as a parcel to look up', () => {
    expect(readDelayedCursor(id)).toEqual({ id, delayedSinceUs: null });
  });

  it('refuses what it never gave', () => {
    const encode = (s: string) => Buffer.from(s).toString('base64url');
    for (const bad of ['', 'nonsense', '%00', 'A'.repeat(200), encode(`x.${id}`), encode(`1.${id}x`), encode(`99999999999999999.${id}`), encode('1.not-a-uuid-at-all-but-36-chars-long'), encode(`-1.${id}`)]) {
      expect(readDelayedCursor(bad), bad).toBeNull();
    }
  });
});
