/**
 * Group commit: callers submit one item each and await their own result; the items that arrive while earlier
 * flushes are in flight are flushed together, in one round trip. At low load a batch is a single item and
 * adds no wait (nothing is held back for a timer); under load each flush carries up to `maxBatch` items, so
 * the cost of a statement and its commit is shared.
 *
 * `flush` returns one result per item, in order. If it throws, every item of that batch gets the error (a
 * batch is one transaction: all of it committed or none of it).
 */
export interface Batcher<I, O> {
  submit(item: I): Promise<O>;
  /** Items waiting for a flush, and flushes running. */
  readonly pending: number;
}

export function createBatcher<I, O>(
  flush: (items: I[]) => Promise<O[]>,
  options: { maxBatch: number; maxConcurrentFlushes?: number },
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

  const run = async (batch: typeof queue) => {
    try {
      const results = await flush(batch.map((b) => b.item));
      if (results.length !== batch.length) throw new Error(`batch flush returned ${results.length} results for ${batch.length} items`);
      batch.forEach((b, i) => b.resolve(results[i]!));
    } catch (error) {
      for (const b of batch) b.reject(error);
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
