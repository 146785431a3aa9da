import { describe, expect, it } from 'vitest';
import { JOB_DEFINITIONS, QUEUE_NAMES } from '../../jobs/index.js';
import { processorsFor } from '../../workers/queue-processors.js';
import { loadConfig } from '../../src/config.js';

const env = { DATABASE_URL: 'postgres://p@h/db', REDIS_URL: 'redis://h:6379', ADMIN_USER: 'ops', ADMIN_PASSWORD: 'long-enough' };

describe('queues and their processors', () => {
  it('names every queue once, from its job definition, and serves them all unless WORKER_QUEUES says otherwise', () => {
    expect(new Set(QUEUE_NAMES).size).toBe(JOB_DEFINITIONS.length);
    expect(QUEUE_NAMES).toEqual(JOB_DEFINITIONS.map((d) => d.queue));
    expect(loadConfig(env).workerQueues).toEqual(QUEUE_NAMES);
  });

  it('gives each served queue its processor, in the order served', () => {
    const run = (name: string) => () => name;
    const chosen = processorsFor<string, () => string>(['b', 'a'], { a: run('a'), b: run('b'), c: run('c') });
    expect(chosen.map(([queue, processor]) => [queue, processor()])).toEqual([['b', 'b'], ['a', 'a']]);
  });

  it('stops the boot naming each served queue that has no processor', () => {
    expect(() => processorsFor(['a', 'b', 'c'], { b: () => 'b' })).toThrow('no processor for queue "a", "c"');
    expect(processorsFor([], {})).toEqual([]);
  });
});
