import { describe, expect, it } from 'vitest';
import { sfOpCodeStatus, sfRouteStatus } from '../../src/carriers/sf.carrier.js';
import { ztoScanStatus } from '../../src/carriers/zto.carrier.js';

describe('SF opCodes', () => {
  it.each([
    ['50', 'in_transit'],
    ['44', 'out_for_delivery'],
    ['33', 'failed_attempt'],
    ['70', 'failed_attempt'],
    ['80', 'delivered'],
    ['631', 'exception'],
    ['648', 'exception'],
    ['12345', 'in_transit'],
  ])('opCode %s is %s', (code, status) => {
    expect(sfOpCodeStatus(code)).toBe(status);
  });
});

describe('SF status codes, read before opCodes', () => {
  it.each([
    // SF's secondary codes, as SF returns them beside the opCode of each route.
    [{ opCode: '54', firstStatusCode: '1', secondaryStatusCode: '101' }, 'in_transit'],
    [{ opCode: '30', firstStatusCode: '2', secondaryStatusCode: '201' }, 'in_transit'],
    [{ opCode: '12345', firstStatusCode: '3', secondaryStatusCode: '301' }, 'out_for_delivery'],
    [{ opCode: '8000', firstStatusCode: '4', secondaryStatusCode: '401' }, 'delivered'],
    // A status code says more than an opCode the tables read otherwise...
    [{ opCode: '130', secondaryStatusCode: '401' }, 'delivered'],
    // ...the first code when the secondary one is unknown or absent...
    [{ opCode: '99', firstStatusCode: '3', secondaryStatusCode: '399' }, 'out_for_delivery'],
    [{ opCode: '99', firstStatusCode: 4 }, 'delivered'],
    // ...but a failed attempt or a return named by the opCode wins over the delivery stage it happens in.
    [{ opCode: '70', firstStatusCode: '3', secondaryStatusCode: '1301' }, 'failed_attempt'],
    [{ opCode: '33', firstStatusCode: '3', secondaryStatusCode: '301' }, 'failed_attempt'],
    [{ opCode: '648', firstStatusCode: '3', secondaryStatusCode: '301', remark: '快件已退回，新单号为：SF1402222222222' }, 'returned_to_sender'],
    // 631/648 end the waybill whether the goods go back or on to the buyer: only a return is final.
    [{ opCode: '631', remark: '快件已退回' }, 'returned_to_sender'],
    [{ opCode: '648', remark: '快件已转寄，新单号为：SF1403333333333' }, 'exception'],
    [{ opCode: '648', firstStatusCode: '4', secondaryStatusCode: '401', remark: '快件已退回/转寄,新单号为：SF1404444444444' }, 'exception'],
    [{ opCode: '648' }, 'exception'],
    // Without status codes: the opCode tables.
    [{ opCode: '44' }, 'out_for_delivery'],
    [{ opCode: '80', firstStatusCode: null, secondaryStatusCode: null }, 'delivered'],
  ] as const)('route %o is %s', (route, status) => {
    expect(sfRouteStatus(route)).toBe(status);
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
