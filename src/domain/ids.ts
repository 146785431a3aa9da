import { createHash, randomFillSync } from 'node:crypto';

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Random bytes fetched a page at a time (as Node's randomUUID does), each handed out once: a call for every id was a measurable share of the intake. */
const entropy = Buffer.alloc(4096);
let drawn = entropy.length;

function randomByte(): number {
  if (drawn === entropy.length) {
    randomFillSync(entropy);
    drawn = 0;
  }
  return entropy[drawn++]!;
}

/**
 * UUIDv7: 48 bits of milliseconds then randomness. Ids sort by creation time, so "newest first" and the
 * list cursor are one index scan on the primary key order.
 */
export function newOrderId(now = Date.now()): string {
  if (!Number.isSafeInteger(now) || now < 0 || now >= 2 ** 48) throw new RangeError(`a UUIDv7 holds 48 bits of milliseconds, not ${now}`);
  const time = now.toString(16).padStart(12, '0');
  let rest = '';
  for (let i = 6; i < 16; i++) {
    const byte = randomByte();
    // Version 7 in the high nibble of byte 6, variant 10 in the high bits of byte 8.
    rest += HEX[i === 6 ? (byte & 0x0f) | 0x70 : i === 8 ? (byte & 0x3f) | 0x80 : byte];
    if (i === 7 || i === 9) rest += '-';
  }
  return `${time.slice(0, 8)}-${time.slice(8)}-${rest}`;
}

export const sha256Hex = (s: string) => createHash('sha256').update(s).digest('hex');

/** A stable fingerprint of a JSON value: object keys sorted, so key order does not make a "different body". */
export function fingerprint(value: unknown): string {
  return sha256Hex(canonicalJson(value) ?? '');
}

function canonicalJson(value: unknown): string | undefined {
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) out += `${i === 0 ? '' : ','}${canonicalJson(value[i]) ?? ''}`;
    return `${out}]`;
  }
  if (value && typeof value === 'object') {
    const object = value as Record<string, unknown>;
    let out = '{';
    for (const key of Object.keys(object).sort()) {
      if (object[key] === undefined) continue;
      out += `${out === '{' ? '' : ','}${JSON.stringify(key)}:${String(canonicalJson(object[key]))}`;
    }
    return `${out}}`;
  }
  return JSON.stringify(value);
}

/** A UUID in canonical text form: anything else cannot be one of our ids (and would make Postgres raise). */
export const isUuid = (s: string) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s);
