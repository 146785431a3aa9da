/**
 * The processor of every queue a worker process serves, in order. A queue without one stops the boot with an
 * error naming it: a worker that skipped it would leave that queue's jobs waiting with nobody to run them.
 */
export function processorsFor<Q extends string, P>(queues: readonly Q[], processors: Partial<Record<Q, P>>): Array<[Q, P]> {
  const missing = queues.filter((q) => !processors[q]);
  if (missing.length) throw new Error(`no processor for queue ${missing.map((q) => `"${q}"`).join(', ')}: register one in workers/index.ts`);
  return queues.map((q) => [q, processors[q] as P]);
}
