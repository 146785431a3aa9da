/**
 * Group commit: callers submit one item each and await their own result; the items that arrive while earlier
 * flushes are in flight are flushed together, in one round trip. At low load a batch is a single item and
 * adds no wait (nothing is held back for a timer); under load each flush carries up to `maxBatch` items, so
 * the cost of a statement and its commit is shared.
 *
 * `flush` returns one result per item, in order. If it throws, every item of that batch gets the error (a
 * batch is one transaction: all of it committed or none of it), unless `retryAlone` accepts the error: then
 * one item may be at fault (a value Postgres refuses, a bug), and the items are flushed again one at a time,
 * so each settles with its own result or error and one bad item does not fail the others.
 */
export interface Batcher<I, O> {
  submit(item: I): Promise<O>;
  /** Items waiting for a flush, and flushes running. */
  readonly pending: number;
}

export function createBatcher<I, O>(
  flush: (items: I[]) => Promise<O[]>,
  options: { maxBatch: number; maxConcurrentFlushes?: number; retryAlone?: (error: unknown) => boolean },
): Batcher<I, O> {
  const maxConcurrent = options.maxConcurrentFlushes ?? 1;
  let queue: Array<{ item: I; resolve: (o: O) => void; reject: (e: unknown) => void }> = [];
  let running = 0;

  const drain = () => {
    while (running < maxConcurrent && queue.length > 0) {
      const batch = queue.slice(0, options.maxBatch);
      queue = queue.slice(batch.length);
      running++;
      void run(batch);
    }
  };

  const flushChecked = async (items: I[]) => {
    const results = await flush(items);
    if (results.length !== items.length) throw new Error(`batch flush returned ${results.length} results for ${items.length} items`);
    return results;
  };

  const run = async (batch: typeof queue) => {
    try {
      const results = await flushChecked(batch.map((b) => b.item));
      batch.forEach((b, i) => b.resolve(results[i]!));
    } catch (error) {
      if (batch.length > 1 && options.retryAlone?.(error)) {
        for (const b of batch) await flushChecked([b.item]).then(([one]) => b.resolve(one!), b.reject);
      } else {
        for (const b of batch) b.reject(error);
      }
    } finally {
      running--;
      drain();
    }
  };

  return {
    submit(item) {
      return new Promise<O>((resolve, reject) => {
        queue.push({ item, resolve, reject });
        // The items submitted in this same tick join the flush: it starts after the current microtasks.
        if (running < maxConcurrent) queueMicrotask(drain);
      });
    },
    get pending() {
      return queue.length + running;
    },
  };
}
