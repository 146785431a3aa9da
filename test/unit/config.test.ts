import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, loadReleaseConfig, loadSandboxProcessConfig } from '../../src/config.js';

const base = { DATABASE_URL: 'postgres://p@h/db', REDIS_URL: 'redis://h:6379', ADMIN_USER: 'ops', ADMIN_PASSWORD: 'long-enough' };

const failure = (env: Record<string, string>, local = false, load: (env: Record<string, string>) => unknown = (e) => loadConfig(e, { local })) => {
  try {
    load(env);
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

  it('turns Kuaidi100 push on only with both its settings and a Kuaidi100 account, and leaves it off otherwise', () => {
    const account = { ...base, KUAIDI100_CUSTOMER: 'C', KUAIDI100_KEY: 'K' };
    const push = { KUAIDI100_PUSH_BASE_URL: 'https://ow.example/', KUAIDI100_PUSH_SALT: 'saltsalt' };
    expect(loadConfig({ ...account, ...push }).providers.kuaidi100).toMatchObject({
      autonumberBaseUrl: 'https://www.kuaidi100.com',
      push: { callbackUrl: 'https://ow.example/v1/carriers/kuaidi100/notify', salt: 'saltsalt' },
    });
    expect(loadConfig(account).providers.kuaidi100).not.toHaveProperty('push');
    expect(failure({ ...account, KUAIDI100_PUSH_SALT: 'saltsalt' })).toBe('KUAIDI100_PUSH_BASE_URL');
    expect(failure({ ...account, KUAIDI100_PUSH_BASE_URL: 'https://ow.example' })).toBe('KUAIDI100_PUSH_SALT');
    expect(failure({ ...account, ...push, KUAIDI100_PUSH_SALT: 'short' })).toBe('KUAIDI100_PUSH_SALT');
    expect(failure({ ...base, ...push })).toBe('KUAIDI100_CUSTOMER');
    expect(failure({ ...base, ...push, KUAIDI100_CUSTOMER: 'C' })).toBe('KUAIDI100_KEY');
  });

  it('follows SF and ZTO through the Kuaidi100 account when asked, never beside credentials of their own', () => {
    const account = { ...base, KUAIDI100_CUSTOMER: 'C', KUAIDI100_KEY: 'K' };
    const c = loadConfig({ ...account, SF_VIA_KUAIDI100: '1', ZTO_APP_KEY: 'a', ZTO_APP_SECRET: 's' });
    expect(c.providers.sf).toEqual({ viaKuaidi100: true });
    expect(c.providers.zto).toMatchObject({ appKey: 'a' });
    expect(loadConfig({ ...account, ZTO_VIA_KUAIDI100: '1' }).providers.zto).toEqual({ viaKuaidi100: true });
    expect(loadConfig({ ...account, SF_VIA_KUAIDI100: '0' }).providers.sf).toBeNull();
    expect(failure({ ...account, SF_VIA_KUAIDI100: '1', SF_PARTNER_ID: 'p' })).toBe('SF_VIA_KUAIDI100');
    expect(failure({ ...base, ZTO_VIA_KUAIDI100: '1' })).toBe('ZTO_VIA_KUAIDI100');
    expect(failure({ ...account, SF_VIA_KUAIDI100: 'yes' })).toBe('SF_VIA_KUAIDI100');
    // Kuaidi100's rule between two queries of a waybill holds unless lowered (against a fake only).
    expect(loadConfig(account).providers.kuaidi100).not.toHaveProperty('minPollIntervalMs');
    expect(loadConfig({ ...account, KUAIDI100_MIN_POLL_INTERVAL_MS: '0' }).providers.kuaidi100).toMatchObject({ minPollIntervalMs: 0 });
  });

  it('spreads queues over QUEUE_SHARDS shards, a worker serving all of them or those WORKER_SHARDS names', () => {
    expect(loadConfig(base)).toMatchObject({ queueShards: 1, workerShards: [0] });
    expect(loadConfig({ ...base, QUEUE_SHARDS: '3' })).toMatchObject({ queueShards: 3, workerShards: [0, 1, 2] });
    expect(loadConfig({ ...base, QUEUE_SHARDS: '3', WORKER_SHARDS: '2, 0,2' })).toMatchObject({ workerShards: [0, 2] });
    for (const bad of ['0', '-1', '1.5', 'two', '65']) expect(failure({ ...base, QUEUE_SHARDS: bad }), bad).toBe('QUEUE_SHARDS');
    for (const bad of ['3', '1,x', '-1', ',']) expect(failure({ ...base, QUEUE_SHARDS: '3', WORKER_SHARDS: bad }), bad).toBe('WORKER_SHARDS');
    expect(() => loadConfig({ ...base, QUEUE_SHARDS: '3', WORKER_SHARDS: '3' })).toThrow('WORKER_SHARDS: shard 3 does not exist: QUEUE_SHARDS is 3 (shards 0 to 2)');
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

  it('asks each process only for the settings it uses', () => {
    const { DATABASE_URL, REDIS_URL } = base;
    // release: the database alone; Redis, operator credentials and everything else are none of its business.
    expect(loadReleaseConfig({ DATABASE_URL })).toEqual({ databaseUrl: DATABASE_URL, logLevel: 'info', logFormat: 'auto', sandbox: false });
    expect(loadReleaseConfig({ DATABASE_URL, SANDBOX: '1', LOG_LEVEL: 'warn', PORT: 'eighty' })).toMatchObject({ sandbox: true, logLevel: 'warn' });
    expect(failure({ REDIS_URL }, false, loadReleaseConfig)).toBe('DATABASE_URL');
    expect(failure({ DATABASE_URL, LOG_LEVEL: 'loud' }, false, loadReleaseConfig)).toBe('LOG_LEVEL');
    // sandbox (bin/sandbox.ts): the database, its port and the web's address, where its notifications go.
    expect(loadSandboxProcessConfig({ DATABASE_URL, PORT: '4000', PUBLIC_URL: 'http://127.0.0.1:3000/' })).toMatchObject({
      port: 4000, publicUrl: 'http://127.0.0.1:3000', sandboxBaseUrl: 'http://127.0.0.1:4000/sandbox',
    });
    expect(failure({ DATABASE_URL, PORT: '4000' }, false, loadSandboxProcessConfig)).toBe('PUBLIC_URL');
    expect(failure({ PUBLIC_URL: 'http://127.0.0.1:3000' }, false, loadSandboxProcessConfig)).toBe('DATABASE_URL');
    // worker: no operator credentials, unless it serves /metrics without a METRICS_TOKEN.
    const worker = (env: Record<string, string>) => loadConfig(env, { role: 'worker' });
    expect(worker({ DATABASE_URL, REDIS_URL }).workerQueues.length).toBeGreaterThan(0);
    expect(failure({ DATABASE_URL }, false, worker)).toBe('REDIS_URL');
    expect(failure({ DATABASE_URL, REDIS_URL, METRICS_PORT: '9100' }, false, worker)).toBe('METRICS_PORT');
    expect(worker({ DATABASE_URL, REDIS_URL, METRICS_PORT: '9100', METRICS_TOKEN: 'a-token-of-16-chars' }).metricsPort).toBe(9100);
    // web: the operator credentials guard its admin routes.
    expect(failure({ DATABASE_URL, REDIS_URL })).toBe('ADMIN_USER');
  });
});
