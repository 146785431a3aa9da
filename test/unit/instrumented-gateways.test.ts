import { describe, expect, it } from 'vitest';
import { PermanentError } from '../../src/domain/errors.js';
import { instrumentGateways } from '../../src/payments/instrumented-gateways.js';

describe('instrumentGateways', () => {
  const counted: string[] = [];
  const g = instrumentGateways(
    {
      alipay: {
        method: 'alipay',
        merchantAccount: (shop: string) => `acct-${shop}`,
        capture: async () => ({ status: 'captured' }),
        refund: async () => {
          throw new PermanentError('payment_declined', 'no');
        },
      },
    },
    (l) => counted.push(`${l.method} ${l.call} ${l.outcome}`),
  );

  it('counts provider calls by their answer and leaves synchronous helpers synchronous', async () => {
    expect(g.alipay.merchantAccount('s1')).toBe('acct-s1');
    expect(g.alipay.method).toBe('alipay');
    await expect(g.alipay.capture()).resolves.toEqual({ status: 'captured' });
    await expect(g.alipay.refund()).rejects.toThrow('no');
    expect(counted).toEqual(['alipay capture captured', 'alipay refund payment_declined']);
  });
});
