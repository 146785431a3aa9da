/**
 * `compute` once per key for as long as the returned function is kept (a poll batch, one push): the parcels of
 * one waybill share one carrier call, those of one route one history read. A promise that fails is forgotten,
 * so the next caller with that key asks again.
 */
export function memoBy<A, V>(keyOf: (arg: A) => string, compute: (arg: A) => V): (arg: A) => V {
  const done = new Map<string, V>();
  return (arg) => {
    const key = keyOf(arg);
    if (done.has(key)) return done.get(key)!;
    const value = compute(arg);
    done.set(key, value);
    if (value instanceof Promise) value.catch(() => done.delete(key));
    return value;
  };
}
