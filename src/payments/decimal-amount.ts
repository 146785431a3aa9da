/**
 * Minor units <-> the decimal strings Alipay ("12.34") and PayPal ("12.34", "1234" for JPY) put on the wire.
 * Integer arithmetic only: floats never touch money.
 */

const ZERO_DECIMAL = new Set(['BIF', 'CLP', 'DJF', 'GNF', 'JPY', 'KMF', 'KRW', 'MGA', 'PYG', 'RWF', 'UGX', 'VND', 'VUV', 'XAF', 'XOF', 'XPF']);
const THREE_DECIMAL = new Set(['BHD', 'IQD', 'JOD', 'KWD', 'LYD', 'OMR', 'TND']);

export function currencyExponent(currency: string): number {
  const c = currency.toUpperCase();
  return ZERO_DECIMAL.has(c) ? 0 : THREE_DECIMAL.has(c) ? 3 : 2;
}

export function formatDecimal(minor: number, currency: string): string {
  if (!Number.isSafeInteger(minor) || minor < 0) throw new RangeError(`not an amount in minor units: ${minor}`);
  const exp = currencyExponent(currency);
  if (exp === 0) return String(minor);
  const digits = String(minor).padStart(exp + 1, '0');
  return `${digits.slice(0, -exp)}.${digits.slice(-exp)}`;
}

export function parseDecimal(value: string, currency: string): number {
  const exp = currencyExponent(currency);
  const m = /^(\d+)(?:\.(\d+))?$/.exec(value.trim());
  if (!m || (m[2]?.length ?? 0) > exp) throw new RangeError(`not a ${currency} amount: ${value}`);
  const minor = Number(`${m[1]}${(m[2] ?? '').padEnd(exp, '0')}`);
  if (!Number.isSafeInteger(minor)) throw new RangeError(`amount out of range: ${value}`);
  return minor;
}
