import { describe, expect, it } from 'vitest';
import { kuaidi100Sign, Kuaidi100Carrier } from '../../src/carriers/kuaidi100.carrier.js';
import { kuaidi100State, kuaidi100StatusName } from '../../src/carriers/kuaidi100-states.js';
import { kuaidi100Phone, parseChinaTime } from '../../src/carriers/http.js';

describe('kuaidi100 sign', () => {
  // Vectors computed outside Node: printf '%s' "<param><key><customer>" | md5sum, then upper-cased.
  it('is the upper-case hex MD5 of param + key + customer', () => {
    expect(kuaidi100Sign('{"com":"yunda","num":"3950055201640"}', 'key', 'CUSTOMER')).toBe('4C17928D1DA993948AB4C782FA6722FB');
  });

  it('signs the exact param string the client sends', () => {
    const client = new Kuaidi100Carrier({ baseUrl: 'http://127.0.0.1:1', customer: 'CUST0001', key: 'kEyAbC123', timeoutMs: 1000, serviceLevelHours: 72 });
    // The carrier Kuaidi100's number recognition named, stored on the shipment, comes back in every query.
    const form = client.buildForm({ trackingNumber: '73100012345678', carrierCom: 'zhongtong' });
    expect(form.get('param')).toBe('{"com":"zhongtong","num":"73100012345678","phone":"","from":"","to":"","resultv2":"8","show":"0","order":"asc"}');
    expect(form.get('customer')).toBe('CUST0001');
    expect(form.get('sign')).toBe('6E89D29B88242D6BBBEC281E8C206BDE');
  });

  it('takes a configured com over a recognised one, and the default com when none was recognised', () => {
    const com = (options: { com?: string; defaultCom?: string }, carrierCom?: string) =>
      JSON.parse(new Kuaidi100Carrier({ baseUrl: 'http://127.0.0.1:1', customer: 'C', key: 'K', timeoutMs: 1000, serviceLevelHours: 72, ...options })
        .buildForm({ trackingNumber: '1234', carrierCom }).get('param') ?? '{}').com;
    expect(com({ com: 'shunfeng' }, 'yunda')).toBe('shunfeng');
    expect(com({ defaultCom: 'ems' }, 'yunda')).toBe('yunda');
    expect(com({ defaultCom: 'ems' })).toBe('ems');
    expect(() => com({})).toThrow(/cannot tell which carrier/);
  });
});

describe('kuaidi100 state mapping', () => {
  const cases: Array<[string, string]> = [
    ['1', 'info_received'],
    ['101', 'info_received'],
    ['102', 'info_received'],
    ['103', 'in_transit'],
    ['0', 'in_transit'],
    ['1001', 'in_transit'],
    ['1002', 'in_transit'],
    ['1003', 'in_transit'],
    ['7', 'in_transit'],
    ['8', 'in_transit'],
    ['10', 'in_transit'],
    ['12', 'in_transit'],
    ['13', 'exception'],
    ['5', 'out_for_delivery'],
    ['501', 'out_for_delivery'],
    ['3', 'delivered'],
    ['301', 'delivered'],
    ['302', 'delivered'],
    ['304', 'delivered'],
    ['2', 'exception'],
    ['201', 'failed_attempt'],
    ['204', 'failed_attempt'],
    ['206', 'failed_attempt'],
    ['203', 'exception'],
    ['207', 'exception'],
    ['210', 'exception'],
    ['4', 'returned_to_sender'],
    ['401', 'exception'],
    ['6', 'exception'],
    ['14', 'exception'],
  ];
  it.each(cases)('state %s is %s', (code, status) => {
    expect(kuaidi100State(code)).toBe(status);
  });

  it('accepts numbers and refuses what is not a code', () => {
    expect(kuaidi100State(3)).toBe('delivered');
    expect(kuaidi100State('99')).toBeNull();
    expect(kuaidi100State('')).toBeNull();
    expect(kuaidi100State(undefined)).toBeNull();
  });

  it('maps status names when no code comes with them', () => {
    expect(kuaidi100StatusName('签收')).toBe('delivered');
    expect(kuaidi100StatusName('派件')).toBe('out_for_delivery');
    expect(kuaidi100StatusName('疑难')).toBe('exception');
    expect(kuaidi100StatusName('派件异常')).toBe('failed_attempt');
    expect(kuaidi100StatusName('退签')).toBe('returned_to_sender');
    expect(kuaidi100StatusName('退回')).toBe('exception');
    expect(kuaidi100StatusName('unknown')).toBeNull();
  });
});

describe('kuaidi100 details', () => {
  it('reads UTC+8 local times', () => {
    expect(parseChinaTime('2025-03-08 14:30:05')).toEqual(new Date('2025-03-08T06:30:05Z'));
    expect(parseChinaTime('2025-03-10 18')).toEqual(new Date('2025-03-10T10:00:00Z'));
    expect(parseChinaTime('2025-03-01')).toEqual(new Date('2025-02-28T16:00:00Z'));
    expect(parseChinaTime('yesterday')).toBeNull();
  });
});

describe('kuaidi100 phone', () => {
  it('sends one number, digits only: no +86 / 0086, no spaces or dashes, no extension', () => {
    const cases: Array<[string | undefined, string | undefined]> = [
      ['+86 138-0000-0000', '13800000000'], ['008613800000000', '13800000000'], ['13800000000', '13800000000'],
      ['(021) 6123-4567 ext. 89', '02161234567'], ['021-61234567转12', '02161234567'], ['86', undefined], [undefined, undefined],
    ];
    for (const [given, sent] of cases) expect(kuaidi100Phone(given), String(given)).toBe(sent);
  });

  it('is what the query form carries', () => {
    const carrier = new Kuaidi100Carrier({ baseUrl: 'http://127.0.0.1:1', customer: 'C', key: 'K', com: 'shunfeng', timeoutMs: 1_000, serviceLevelHours: 48 });
    const param = JSON.parse(carrier.buildForm({ trackingNumber: 'SF1234567890', phone: '+86 138 0000 0000' }).get('param') ?? '{}');
    expect(param.phone).toBe('13800000000');
  });
});
