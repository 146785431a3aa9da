import { describe, expect, it } from 'vitest';
import { createBatcher } from '../../src/batcher.js';

const tick = () => new Promise((r) => setTimeout(r, 5));

describe('createBatcher', () => {
  it('flushes a lone item at once, and the items that arrive during a flush together', async () => {
    const flushes: number[][] = [];
    const b = createBatcher(async (items: number[]) => {
      flushes.push(items);
      await tick();
      return items.map((n) => n * 10);
    }, { maxBatch: 100 });
    const first = b.submit(1);
    await Promise.resolve();
    const rest = [2, 3, 4].map((n) => b.submit(n));
    expect(await Promise.all([first, ...rest])).toEqual([10, 20, 30, 40]);
    expect(flushes).toEqual([[1], [2, 3, 4]]);
  });

  it('never puts more than maxBatch items in one flush, nor runs more flushes than allowed', async () => {
    let running = 0;
    let most = 0;
    const sizes: number[] = [];
    const b = createBatcher(async (items: number[]) => {
      running++;
      most = Math.max(most, running);
      sizes.push(items.length);
      await tick();
      running--;
      return items;
    }, { maxBatch: 4, maxConcurrentFlushes: 2 });
    const all = await Promise.all(Array.from({ length: 19 }, (_, i) => b.submit(i)));
    expect(all).toEqual(Array.from({ length: 19 }, (_, i) => i));
    expect(Math.max(...sizes)).toBe(4);
    expect(sizes.reduce((a, n) => a + n, 0)).toBe(19);
    expect(most).toBe(2);
    expect(b.pending).toBe(0);
  });

  it('fails every item of a failed flush, and only those', async () => {
    const b = createBatcher(async (items: string[]) => {
      await tick();
      if (items.includes('bad')) throw new Error('statement failed');
      return items;
    }, { maxBatch: 2 });
    const results = await Promise.allSettled(['ok1', 'bad', 'ok2', 'ok3'].map((s) => b.submit(s)));
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'fulfilled', 'fulfilled']);
    expect((results[0] as PromiseRejectedResult).reason.message).toBe('statement failed');
  });

  it('with retryAlone, flushes a failed batch again one item at a time: only the bad item fails', async () => {
    const flushes: string[][] = [];
    const b = createBatcher(async (items: string[]) => {
      flushes.push(items);
      await tick();
      if (items.includes('bad')) throw new Error(items.length > 1 ? 'batch refused' : 'bad refused');
      return items.map((s) => s.toUpperCase());
    }, { maxBatch: 10, retryAlone: (e) => (e as Error).message === 'batch refused' });
    const results = await Promise.allSettled(['a', 'bad', 'c'].map((s) => b.submit(s)));
    expect(results).toEqual([
      { status: 'fulfilled', value: 'A' },
      { status: 'rejected', reason: new Error('bad refused') },
      { status: 'fulfilled', value: 'C' },
    ]);
    expect(flushes).toEqual([['a', 'bad', 'c'], ['a'], ['bad'], ['c']]);
  });

  it('without retryAlone accepting the error, fails the whole batch and flushes nothing again', async () => {
    let flushes = 0;
    const b = createBatcher(async (items: string[]) => {
      flushes++;
      await tick();
      throw new Error(`down (${items.length})`);
    }, { maxBatch: 10, retryAlone: () => false });
    const results = await Promise.allSettled(['a', 'b'].map((s) => b.submit(s)));
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(flushes).toBe(1);
  });

  it('refuses a flush that answers for the wrong number of items', async () => {
    const b = createBatcher(async () => [], { maxBatch: 10 });
    await expect(b.submit(1)).rejects.toThrow('returned 0 results for 1 items');
  });
});
