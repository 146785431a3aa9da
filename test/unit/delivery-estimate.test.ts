import { describe, expect, it } from 'vitest';
import { estimateDelivery, median, normaliseCity, pickupTime, refineEstimate, type DeliveredTransit } from '../../src/domain/delivery-estimate.js';

const H = 3_600_000;
const now = new Date('2025-03-10T00:00:00Z');
const pickupAt = new Date('2025-03-08T06:00:00Z');
const route = { fromCity: '深圳市', toCity: '上海' };
const onRoute = (...hours: number[]): DeliveredTransit[] => hours.map((h) => ({ fromCity: '深圳', toCity: '上海市', transitMs: h * H }));
const base = { carrierEstimate: null, pickupAt, route, history: [], serviceLevelHours: 48, now };

describe('median', () => {
  it('takes the middle of an odd count, whatever the order', () => {
    expect(median([30, 10, 20])).toBe(20);
    expect(median([5, 1, 4, 2, 3])).toBe(3);
  });
  it('takes the mean of the two middle values of an even count', () => {
    expect(median([40, 10, 30, 20])).toBe(25);
    expect(median([1, 2])).toBe(1.5);
  });
  it('refuses no values', () => {
    expect(() => median([])).toThrow(RangeError);
  });
});

describe('estimateDelivery', () => {
  it("uses the carrier's own estimate over history and service level", () => {
    const carrierEstimate = new Date('2025-03-11T10:00:00Z');
    const got = estimateDelivery({ ...base, carrierEstimate, history: onRoute(10, 11, 12, 13, 14, 15) });
    expect(got).toEqual({ estimatedDeliveryAt: carrierEstimate, source: 'carrier' });
  });

  it('uses the median of same-route transits (odd count) once there are enough', () => {
    const got = estimateDelivery({ ...base, history: onRoute(30, 20, 50, 10, 40) });
    expect(got.source).toBe('history');
    expect(got.estimatedDeliveryAt).toEqual(new Date(pickupAt.getTime() + 30 * H));
  });

  it('uses the mean of the middle two for an even count', () => {
    const got = estimateDelivery({ ...base, history: onRoute(24, 36, 12, 48, 30, 60) });
    expect(got).toEqual({ estimatedDeliveryAt: new Date(pickupAt.getTime() + 33 * H), source: 'history' });
  });

  it('falls back to the service level with too few samples on the route', () => {
    const otherRoutes: DeliveredTransit[] = [
      { fromCity: '北京', toCity: '上海', transitMs: 5 * H },
      { fromCity: '深圳', toCity: '广州', transitMs: 5 * H },
      { fromCity: '上海', toCity: '深圳', transitMs: 5 * H },
    ];
    const got = estimateDelivery({ ...base, history: [...onRoute(10, 11, 12, 13), ...otherRoutes] });
    expect(got).toEqual({ estimatedDeliveryAt: new Date(pickupAt.getTime() + 48 * H), source: 'service_level' });
  });

  it('honours a custom minimum sample size', () => {
    expect(estimateDelivery({ ...base, history: onRoute(10, 20, 30), minSamples: 3 }).source).toBe('history');
    expect(estimateDelivery({ ...base, history: onRoute(10, 20, 30), minSamples: 4 }).source).toBe('service_level');
  });

  it('ignores impossible transit times when counting samples', () => {
    const got = estimateDelivery({ ...base, history: onRoute(10, 20, 30, 40, 0, -5) });
    expect(got.source).toBe('service_level');
  });

  it('cannot use history without a route', () => {
    expect(estimateDelivery({ ...base, route: null, history: onRoute(10, 20, 30, 40, 50) }).source).toBe('service_level');
  });

  it('counts from now while the parcel has no pickup yet (a new parcel)', () => {
    const got = estimateDelivery({ ...base, pickupAt: null, serviceLevelHours: 72 });
    expect(got.estimatedDeliveryAt).toEqual(new Date(now.getTime() + 72 * H));
  });

  it("refines nothing from a carrier's answer without a pickup or an estimate of its own, and never counts from the clock", () => {
    const { now: _now, ...answer } = base;
    expect(refineEstimate({ ...answer, pickupAt: null, history: onRoute(10, 20, 30, 40, 50) })).toBeNull();
    expect(refineEstimate({ ...answer, pickupAt: null, carrierEstimate: new Date(Number.NaN) })).toBeNull();
    const carrierEstimate = new Date('2025-03-11T10:00:00Z');
    expect(refineEstimate({ ...answer, pickupAt: null, carrierEstimate })).toEqual({ estimatedDeliveryAt: carrierEstimate, source: 'carrier' });
    expect(refineEstimate(answer)).toEqual({ estimatedDeliveryAt: new Date(pickupAt.getTime() + 48 * H), source: 'service_level' });
  });

  it('ignores an invalid carrier estimate', () => {
    expect(estimateDelivery({ ...base, carrierEstimate: new Date(Number.NaN) }).source).toBe('service_level');
  });
});

describe('pickupTime', () => {
  it('is the earliest info_received or in_transit event', () => {
    const at = (iso: string) => new Date(iso);
    const events = [
      { at: at('2025-03-09T00:00:00Z'), status: 'out_for_delivery' as const, description: '', location: null },
      { at: at('2025-03-08T02:00:00Z'), status: 'in_transit' as const, description: '', location: null },
      { at: at('2025-03-08T01:00:00Z'), status: 'info_received' as const, description: '', location: null },
    ];
    expect(pickupTime(events)).toEqual(at('2025-03-08T01:00:00Z'));
    expect(pickupTime([events[0]!])).toBeNull();
  });
});

it('normalises city names so carriers and shops meet', () => {
  expect(normaliseCity(' 上海市 ')).toBe('上海');
  expect(normaliseCity('Shanghai')).toBe('shanghai');
});
