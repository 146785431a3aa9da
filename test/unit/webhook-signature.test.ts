import { createHmac } from 'node:crypto';
import { cappedBackoff, CAPPED_BACKOFF_MAX_MS } from '../../jobs/job-definition.js';
import { describe, expect, it } from 'vitest';
import { assertPublicUrl, ipv6Bytes, isPrivateAddress } from '../../src/webhooks/address-guard.js';
import { signWebhook, verifyWebhook } from '../../src/webhooks/webhook-signature.js';
import { webhookAttempts } from '../../jobs/webhook-delivery.job.js';

const SECRET = 'whsec_test';
const BODY = '{"id":"e1","type":"order.paid","createdAt":"2025-01-01T00:00:00.000Z","data":{"order":{"id":"o1"}}}';

describe('signature', () => {
  it('is t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "t.body")>', () => {
    const header = signWebhook(SECRET, BODY, 1_700_000_000);
    const expected = createHmac('sha256', SECRET).update(`1700000000.${BODY}`).digest('hex');
    expect(header).toBe(`t=1700000000,v1=${expected}`);
    expect(header).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
  });

  it('verifies as a shop would, and refuses another body, secret, or an old timestamp', () => {
    const now = 1_700_000_000;
    const header = signWebhook(SECRET, BODY, now);
    expect(verifyWebhook(SECRET, BODY, header, 300, now + 10)).toBe(true);
    expect(verifyWebhook(SECRET, BODY.replace('o1', 'o2'), header, 300, now)).toBe(false);
    expect(verifyWebhook('whsec_other', BODY, header, 300, now)).toBe(false);
    expect(verifyWebhook(SECRET, BODY, header, 300, now + 301)).toBe(false);
    expect(verifyWebhook(SECRET, BODY, 'garbage', 300, now)).toBe(false);
    // The timestamp is signed: moving it forward breaks the signature.
    expect(verifyWebhook(SECRET, BODY, header.replace(`t=${now}`, `t=${now + 1}`), 300, now)).toBe(false);
  });
});

describe('private-address classifier', () => {
  const refused = [
    '127.0.0.1', '127.255.0.9', '10.0.0.1', '10.255.255.255', '172.16.0.1', '172.31.255.255', '192.168.1.1',
    '100.64.0.1', '100.127.255.254', '169.254.169.254', '0.0.0.0', '0.1.2.3', '224.0.0.1', '255.255.255.255', '198.18.0.1',
    '::', '::1', 'fc00::1', 'fd12:3456::1', 'fe80::1', 'fe80::1%eth0', 'febf::1', 'ff02::1',
    '::ffff:127.0.0.1', '::ffff:10.1.2.3', '::ffff:7f00:1', '::ffff:a9fe:a9fe', '::127.0.0.1',
    '64:ff9b::10.0.0.1', '2002:c0a8:0101::1', '0:0:0:0:0:0:0:1', 'not-an-ip',
  ];
  const allowed = [
    '8.8.8.8', '1.1.1.1', '172.15.255.255', '172.32.0.1', '100.63.255.255', '100.128.0.1', '169.253.0.1', '11.0.0.1',
    '2606:4700:4700::1111', '2001:4860:4860::8888', '::ffff:8.8.8.8', '64:ff9b::8.8.8.8', '2002:0808:0808::1', 'fbff::1', '2a00::1',
  ];
  it.each(refused)('refuses %s', (a) => expect(isPrivateAddress(a)).toBe(true));
  it.each(allowed)('allows %s', (a) => expect(isPrivateAddress(a)).toBe(false));

  it('parses IPv6 with :: and an embedded IPv4', () => {
    expect(ipv6Bytes('::ffff:1.2.3.4')).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4]);
    expect(ipv6Bytes('2001:db8::1')).toEqual([0x20, 0x01, 0x0d, 0xb8, ...Array(11).fill(0), 1]);
    expect(ipv6Bytes('1.2.3.4')).toBeNull();
  });

  it('checks the resolved addresses, not the name, and refuses a name with any private answer', async () => {
    const dns = (answers: string[]) => async () => answers.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
    await expect(assertPublicUrl('https://hooks.example.com/x', false, dns(['93.184.216.34']))).resolves.toBeUndefined();
    await expect(assertPublicUrl('https://hooks.example.com/x', false, dns(['93.184.216.34', '10.0.0.5']))).rejects.toMatchObject({ code: 'validation_failed' });
    await expect(assertPublicUrl('https://hooks.example.com/x', false, dns(['::ffff:127.0.0.1']))).rejects.toMatchObject({ code: 'validation_failed' });
    await expect(assertPublicUrl('https://hooks.example.com/x', true, dns(['127.0.0.1']))).resolves.toBeUndefined();
    await expect(assertPublicUrl('http://[::1]:8080/x', false, dns([]))).rejects.toMatchObject({ code: 'validation_failed' });
    await expect(assertPublicUrl('ftp://example.com/x', true, dns(['93.184.216.34']))).rejects.toMatchObject({ code: 'validation_failed' });
    await expect(assertPublicUrl('not a url', true)).rejects.toMatchObject({ code: 'validation_failed' });
    const nxdomain = async () => Promise.reject(Object.assign(new Error('nx'), { code: 'ENOTFOUND' }));
    await expect(assertPublicUrl('https://nope.invalid/', false, nxdomain)).rejects.toMatchObject({ code: 'validation_failed' });
    const servfail = async () => Promise.reject(Object.assign(new Error('again'), { code: 'EAI_AGAIN' }));
    await expect(assertPublicUrl('https://slow.example/', false, servfail)).rejects.toMatchObject({ code: 'dependency_unavailable', permanent: false });
  });
});

describe('retry span', () => {
  it.each([50, 1_000, 10_000, 60_000])('keeps retrying at least 24 h, with no more attempts than that takes, at a %i ms base', (base) => {
    const retries = webhookAttempts(base) - 1;
    let minSpan = 0;
    // Each wait at its jittered minimum: doubling from the base, capped at an hour.
    const shortest = (k: number) => cappedBackoff(k, base, 0.5, () => 1);
    for (let k = 1; k <= retries; k++) minSpan += shortest(k);
    expect(minSpan).toBeGreaterThanOrEqual(24 * 3_600_000);
    expect(minSpan - shortest(retries)).toBeLessThan(24 * 3_600_000);
    // No wait is longer than the cap: a shop's endpoint down for a day is retried at least hourly.
    expect(cappedBackoff(retries, base, 0.5, () => 0)).toBeLessThanOrEqual(CAPPED_BACKOFF_MAX_MS);
  });
});
