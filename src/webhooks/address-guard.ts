import { lookup as dnsLookup } from 'node:dns/promises';
import type { LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import { DomainError, TransientError } from '../domain/errors.js';

/**
 * Keeps webhooks off the deployment's own network (SSRF): a shop could otherwise point its webhookUrl at
 * Redis, the metadata service or an admin port. The check is on the resolved addresses, never the name,
 * and the sender connects to exactly the addresses checked here (see webhook-sender.ts), so a DNS answer
 * that changes between check and connect (rebinding) cannot get around it.
 */

/** [prefix bytes, prefix length in bits] of IPv4 ranges that are not public unicast. */
const V4_BLOCKED: Array<[number[], number]> = [
  [[0], 8], //            "this network", incl. the unspecified 0.0.0.0
  [[10], 8], //           private
  [[100, 64], 10], //     carrier-grade NAT
  [[127], 8], //          loopback
  [[169, 254], 16], //    link-local (cloud metadata lives here)
  [[172, 16], 12], //     private
  [[192, 0, 0], 24], //   IETF protocol assignments
  [[192, 168], 16], //    private
  [[198, 18], 15], //     benchmarking
  [[224], 4], //          multicast
  [[240], 4], //          reserved, incl. broadcast
];

const V6_BLOCKED: Array<[number[], number]> = [
  [[0xfc], 7], //         unique local
  [[0xfe, 0x80], 10], //  link-local
  [[0xfe, 0xc0], 10], //  site-local (deprecated, still routed by some)
  [[0xff], 8], //         multicast
  [[0x01, 0x00, 0, 0, 0, 0, 0, 0], 64], // discard-only
];

function matches(bytes: number[], [prefix, bits]: [number[], number]): boolean {
  for (let i = 0; i * 8 < bits; i++) {
    const take = Math.min(8, bits - i * 8);
    const mask = (0xff << (8 - take)) & 0xff;
    if (((bytes[i] ?? 0) & mask) !== ((prefix[i] ?? 0) & mask)) return false;
  }
  return true;
}

/** The 16 bytes of an IPv6 address (`::`, an embedded dotted quad and a zone id allowed), or null. */
export function ipv6Bytes(address: string): number[] | null {
  const text = address.replace(/%.*$/, '');
  if (isIP(text) !== 6) return null;
  const groups = (part: string): number[] => {
    if (!part) return [];
    const out: number[] = [];
    for (const g of part.split(':')) {
      if (g.includes('.')) {
        const [a, b, c, d] = g.split('.').map(Number) as [number, number, number, number];
        out.push((a << 8) | b, (c << 8) | d);
      } else out.push(parseInt(g, 16));
    }
    return out;
  };
  const [head, tail] = text.split('::') as [string, string | undefined];
  const h = groups(head);
  const t = tail === undefined ? [] : groups(tail);
  const words = tail === undefined ? h : [...h, ...Array<number>(8 - h.length - t.length).fill(0), ...t];
  return words.flatMap((w) => [w >> 8, w & 0xff]);
}

const isPrivateV4 = (bytes: number[]) => V4_BLOCKED.some((r) => matches(bytes, r));

/**
 * True for loopback, private, CGNAT, link-local, unspecified, multicast and reserved addresses, and for IPv6
 * forms that carry an IPv4 address (mapped, compatible, NAT64, 6to4) whose IPv4 address is one of those.
 * Anything that is not an IP address at all is refused too.
 */
export function isPrivateAddress(address: string): boolean {
  if (isIP(address) === 4) return isPrivateV4(address.split('.').map(Number));
  const b = ipv6Bytes(address);
  if (!b) return true;
  const zeros = (n: number) => b.slice(0, n).every((x) => x === 0);
  if (zeros(15) && (b[15] === 0 || b[15] === 1)) return true; // :: and ::1
  if (zeros(10) && b[10] === 0xff && b[11] === 0xff) return isPrivateV4(b.slice(12)); // ::ffff:a.b.c.d
  if (zeros(12)) return true; // ::a.b.c.d, deprecated IPv4-compatible: nothing public uses it
  if (matches(b, [[0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0], 96])) return isPrivateV4(b.slice(12)); // NAT64
  if (matches(b, [[0x20, 0x02], 16])) return isPrivateV4(b.slice(2, 6)); // 6to4
  return V6_BLOCKED.some((r) => matches(b, r));
}

export type Lookup = (host: string) => Promise<LookupAddress[]>;
const systemLookup: Lookup = (host) => dnsLookup(host, { all: true, verbatim: true });

/** The URL's host without IPv6 brackets. */
export const hostOf = (url: URL) => url.hostname.replace(/^\[(.*)\]$/, '$1');

export class AddressRefusedError extends DomainError {
  constructor(message: string) {
    super('validation_failed', message, { permanent: true, fields: [{ path: 'webhookUrl', message }] });
    this.name = 'AddressRefusedError';
  }
}

/**
 * The addresses to connect to for `url`: every address the name resolves to, each checked unless
 * `allowPrivate`. One private address refuses the URL (a name that mixes public and private answers is
 * exactly what rebinding looks like). DNS failures are thrown as they come (the caller classifies them).
 */
export async function resolveChecked(url: URL, allowPrivate: boolean, lookup: Lookup = systemLookup): Promise<LookupAddress[]> {
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new AddressRefusedError('must be an http or https URL');
  if (url.username || url.password) throw new AddressRefusedError('must not carry credentials');
  const host = hostOf(url);
  const family = isIP(host);
  const addresses = family ? [{ address: host, family }] : await lookup(host);
  if (addresses.length === 0) throw Object.assign(new Error(`${host} has no address`), { code: 'ENOTFOUND' });
  if (!allowPrivate) {
    const bad = addresses.find((a) => isPrivateAddress(a.address));
    if (bad) throw new AddressRefusedError(`resolves to ${bad.address}, a loopback, private or link-local address`);
  }
  return addresses;
}

/**
 * Refuses a webhookUrl at shop creation: an AddressRefusedError (a `validation_failed` DomainError with
 * `fields: [{ path: 'webhookUrl' }]`, so 400) for a bad scheme, a private address or a name that does not
 * exist; a TransientError (503) when DNS cannot answer now.
 */
export async function assertPublicUrl(url: string, allowPrivate: boolean, lookup: Lookup = systemLookup): Promise<void> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new AddressRefusedError('is not a URL');
  }
  try {
    await resolveChecked(parsed, allowPrivate, lookup);
  } catch (error) {
    if (error instanceof DomainError) throw error;
    const code = (error as { code?: string }).code;
    if (code === 'ENOTFOUND' || code === 'ENODATA') throw new AddressRefusedError(`${hostOf(parsed)} does not resolve`);
    throw new TransientError('dependency_unavailable', 'DNS did not answer; try again', { retryAfterSeconds: 5, cause: error });
  }
}
