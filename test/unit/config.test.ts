import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

const base = { DATABASE_URL: 'postgres://p@h/db', REDIS_URL: 'redis://h:6379', ADMIN_USER: 'ops', ADMIN_PASSWORD: 'long-enough' };

const failure = (env: Record<string, string>, local = false) => {
  try {
    loadConfig(env, { local });
  } catch (e) {
    if (e instanceof ConfigError) return e.variable;
    throw e;
  }
  return null;
};

describe('config', () => {
  it('applies the contract defaults', () => {
    const c = loadConfig(base);
    expect(c).toMatchObject({ port: 3000, queuePrefix: 'orderworks', sandbox: false, webhookAllowPrivateNetworks: false, trackingRefreshEveryMs: 900_000 });
    expect(Object.isFrozen(c)).toBe(true);
    expect(loadConfig({ DATABASE_URL: base.DATABASE_URL, REDIS_URL: base.REDIS_URL }, { local: true })).toMatchObject({ mode: 'local', sandbox: true, webhookAllowPrivateNetworks: true });
  });

  it('names the variable of a bad value', () => {
    expect(failure({ ...base, PORT: 'eighty' })).toBe('PORT');
    expect(failure({ ...base, SANDBOX: 'yes' })).toBe('SANDBOX');
    expect(failure({ ...base, DATABASE_URL: 'mysql://x' })).toBe('DATABASE_URL');
    expect(failure({ ...base, WORKER_CONCURRENCY: '0' })).toBe('WORKER_CONCURRENCY');
    expect(failure({ ...base, WORKER_QUEUES: 'order-placement,nope' })).toBe('WORKER_QUEUES');
    expect(failure({ ...base, ADMIN_PASSWORD: '' })).toBe('ADMIN_PASSWORD');
    expect(failure({ DATABASE_URL: base.DATABASE_URL })).toBe('REDIS_URL');
  });

  it('runs only the queues WORKER_QUEUES names, each with WORKER_CONCURRENCY', () => {
    const c = loadConfig({ ...base, WORKER_QUEUES: 'order-placement, payment-capture', WORKER_CONCURRENCY: '7' });
    expect(c.workerQueues).toEqual(['order-placement', 'payment-capture']);
    expect(c.workerConcurrency['order-placement']).toBe(7);
  });

  it('runs placement 64 jobs in flight unless told, and WORKER_CONCURRENCY_ORDER_PLACEMENT overrides it alone', () => {
    expect(loadConfig(base).workerConcurrency['order-placement']).toBe(64);
    const c = loadConfig({ ...base, WORKER_CONCURRENCY: '8', WORKER_CONCURRENCY_ORDER_PLACEMENT: '48' });
    expect(c.workerConcurrency['order-placement']).toBe(48);
    expect(c.workerConcurrency['payment-capture']).toBe(8);
    expect(failure({ ...base, WORKER_CONCURRENCY_ORDER_PLACEMENT: '0' })).toBe('WORKER_CONCURRENCY_ORDER_PLACEMENT');
  });
});
