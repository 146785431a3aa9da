import { describe, expect, it } from 'vitest';
import { sfOpCodeStatus } from '../../src/carriers/sf.carrier.js';
import { ztoScanStatus } from '../../src/carriers/zto.carrier.js';

describe('SF opCodes', () => {
  it.each([
    ['50', 'in_transit'],
    ['44', 'out_for_delivery'],
    ['33', 'failed_attempt'],
    ['70', 'failed_attempt'],
    ['80', 'delivered'],
    ['631', 'returned_to_sender'],
    ['648', 'returned_to_sender'],
    ['12345', 'in_transit'],
  ])('opCode %s is %s', (code, status) => {
    expect(sfOpCodeStatus(code)).toBe(status);
  });
});

describe('ZTO scans', () => {
  it('reads a problem scan that says the courier could not hand over the parcel as a failed attempt', () => {
    expect(ztoScanStatus('问题件', '派送不成功，收件人不在家，明日再次派送')).toBe('failed_attempt');
    expect(ztoScanStatus('问题件', '电话无人接听')).toBe('failed_attempt');
    expect(ztoScanStatus('PROBLEM', 'Delivery attempt failed: not at home')).toBe('failed_attempt');
  });

  it('keeps other problem scans, and returns under way, as exceptions', () => {
    expect(ztoScanStatus('问题件', '外包装破损')).toBe('exception');
    expect(ztoScanStatus('问题件')).toBe('exception');
    expect(ztoScanStatus('退件', '派送不成功')).toBe('exception');
  });

  it('maps the other scans as before', () => {
    expect(ztoScanStatus('派件')).toBe('out_for_delivery');
    expect(ztoScanStatus('签收')).toBe('delivered');
    expect(ztoScanStatus('unknown')).toBe('in_transit');
  });
});
