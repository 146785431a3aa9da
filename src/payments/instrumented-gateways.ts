import { DomainError } from '../domain/errors.js';

type Outcome = (labels: { method: string; call: string; outcome: string }) => void;

/**
 * Counts every call to a payment provider by method, call and outcome, without the adapters knowing: an answer's
 * own `status` (captured, pending, not_found...) or `ok`, a refusal's domain code (payment_declined,
 * provider_unavailable...), else `error`. Whatever operations a gateway has, each is counted the same way.
 */
export function instrumentGateways<G extends Record<string, object>>(gateways: G, count: Outcome): G {
  return Object.fromEntries(
    Object.entries(gateways).map(([method, gateway]) => [method, instrument(method, gateway, count)]),
  ) as G;
}

function instrument<T extends object>(method: string, gateway: T, count: Outcome): T {
  const wrapped: Record<string, unknown> = { ...(gateway as Record<string, unknown>) };
  for (const [call, fn] of Object.entries(gateway)) {
    if (typeof fn !== 'function') continue;
    // Only calls that answer with a promise go to the provider; a synchronous helper (a merchant account, a
    // reference) passes through untouched and uncounted.
    wrapped[call] = (...args: unknown[]) => {
      const answer: unknown = fn.apply(gateway, args);
      if (!(answer instanceof Promise)) return answer;
      return answer.then(
        (result: unknown) => {
          const status = (result as { status?: unknown } | null)?.status;
          count({ method, call, outcome: typeof status === 'string' ? status : 'ok' });
          return result;
        },
        (error: unknown) => {
          count({ method, call, outcome: error instanceof DomainError ? error.code : 'error' });
          throw error;
        },
      );
    };
  }
  return wrapped as T;
}

