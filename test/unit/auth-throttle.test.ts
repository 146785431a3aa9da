import { describe, expect, it } from 'vitest';
import { createAuthThrottle, operatorAuthenticator } from '../../src/http/auth.js';

describe('operator auth throttle', () => {
  it('lets ten wrong guesses a minute through, then asks to wait until the minute is over', () => {
    let now = 1_000_000;
    const t = createAuthThrottle(10, () => now);
    for (let i = 0; i < 10; i++) {
      expect(t.waitFor('1.2.3.4')).toBe(0);
      t.failed('1.2.3.4');
    }
    expect(t.waitFor('1.2.3.4')).toBe(0);
    t.failed('1.2.3.4');
    expect(t.waitFor('1.2.3.4')).toBe(60);
    expect(t.waitFor('5.6.7.8')).toBe(0);
    now += 30_000;
    expect(t.waitFor('1.2.3.4')).toBe(30);
    now += 30_000;
    expect(t.waitFor('1.2.3.4')).toBe(0);
  });
});

describe('operator authenticator', () => {
  const auth = operatorAuthenticator({ admin: { user: 'ops', password: 'pw-admin-1' }, viewer: { user: 'v', password: 'pw-viewer' }, metricsToken: 'tok-0123456789abcdef' });
  const basic = (s: string) => `Basic ${Buffer.from(s).toString('base64')}`;
  it('tells the role each credential proves', () => {
    expect(auth(basic('ops:pw-admin-1'))).toBe('admin');
    expect(auth(basic('v:pw-viewer'))).toBe('viewer');
    expect(auth('Bearer tok-0123456789abcdef')).toBe('metrics');
    expect(auth(basic('ops:pw-viewer'))).toBeNull();
    expect(auth('Bearer tok-0123456789abcdeX')).toBeNull();
    expect(auth(undefined)).toBeNull();
  });
  it('accepts no bearer token when none is configured', () => {
    expect(operatorAuthenticator({ admin: { user: 'a', password: 'b' } })('Bearer ')).toBeNull();
  });
});
