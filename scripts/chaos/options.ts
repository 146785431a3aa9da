/** How big a chaos run is: from the environment (CHAOS_*) or `--name=value` arguments, arguments winning. */

export interface ChaosOptions {
  /** Orders the simulated shop submits. */
  orders: number;
  /** Orders submitted per second (the load phase lasts about orders / rate seconds). */
  rate: number;
  /** SIGKILLs of worker processes, spread over the load phase (each restarted at once). */
  kills: number;
  /** Redis restarts (SIGKILL, then the same --dir: AOF restores it). */
  redisRestarts: number;
  /** Postgres outages (the cluster stopped, then started again). */
  postgresOutages: number;
  /** How long Postgres stays down each time. */
  postgresDownMs: number;
  /** How long Redis stays down each time. */
  redisDownMs: number;
  /** Length of each injected provider and carrier fault window. */
  faultWindowMs: number;
  /**
   * How long one wallet provider (Alipay: every call answers 500) is down while QR buyers keep paying on its
   * checkout page: a minute in the full run; scale it with the run (the small test uses a few seconds).
   */
  providerDownMs: number;
  /** Share of providers' notifications the network delivers twice (the second copy after up to 5 s). */
  duplicateNotifyShare: number;
  /** Hard cap on the whole run, a backstop against a hang; quiescence is cut short to fit it. */
  seconds: number;
  /**
   * After the load, quiescence is awaited for as long as anything still moves (orders, events, refunds); the
   * wait gives up once nothing has changed for this long. A busy machine is slow, not stuck.
   */
  quietSeconds: number;
  /** How long the shop waits for one HTTP answer before it counts as a timeout (outage answers must be 202 or 503). */
  httpTimeoutSeconds: number;
  /**
   * PAYMENT_TIMEOUT_MS of the system under test. Timeout faults resolve after it; too short for the machine and
   * every call to the sandbox (served by the web process) times out, which tests load, not resilience.
   */
  providerTimeoutMs: number;
  /** A non-final order not updated for this long at the end counts as stuck. */
  stuckAfterSeconds: number;
  /** Keep the temp dir (data and logs) even when every invariant passes. */
  keep: boolean;
  /** Print progress lines while it runs. */
  verbose: boolean;
  seed: number;
}

export const FULL: ChaosOptions = {
  orders: 2000,
  rate: 12,
  kills: 10,
  redisRestarts: 1,
  postgresOutages: 1,
  postgresDownMs: 5_000,
  redisDownMs: 3_000,
  faultWindowMs: 6_000,
  providerDownMs: 60_000,
  duplicateNotifyShare: 0.3,
  seconds: 480,
  quietSeconds: 60,
  httpTimeoutSeconds: 15,
  providerTimeoutMs: 3_000,
  stuckAfterSeconds: 30,
  keep: false,
  verbose: true,
  seed: Date.now() % 1_000_000,
};

const KEYS: Record<string, keyof ChaosOptions> = {
  ORDERS: 'orders', RATE: 'rate', KILLS: 'kills', REDIS_RESTARTS: 'redisRestarts', POSTGRES_OUTAGES: 'postgresOutages',
  POSTGRES_DOWN_MS: 'postgresDownMs', REDIS_DOWN_MS: 'redisDownMs', FAULT_WINDOW_MS: 'faultWindowMs', PROVIDER_DOWN_MS: 'providerDownMs', DUPLICATE_NOTIFY_SHARE: 'duplicateNotifyShare', SECONDS: 'seconds',
  QUIET_SECONDS: 'quietSeconds', HTTP_TIMEOUT_SECONDS: 'httpTimeoutSeconds', PROVIDER_TIMEOUT_MS: 'providerTimeoutMs', STUCK_AFTER_SECONDS: 'stuckAfterSeconds', KEEP: 'keep', VERBOSE: 'verbose', SEED: 'seed',
};

export function parseOptions(env: NodeJS.ProcessEnv, argv: string[], base: ChaosOptions = FULL): ChaosOptions {
  const raw: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (k.startsWith('CHAOS_') && v) raw[k.slice(6)] = v;
  for (const a of argv) {
    const m = /^--([a-z-]+)=(.*)$/.exec(a);
    if (!m) throw new Error(`unknown argument ${a}: use --name=value (${Object.keys(KEYS).map((k) => k.toLowerCase().replaceAll('_', '-')).join(', ')})`);
    raw[m[1]!.toUpperCase().replaceAll('-', '_')] = m[2]!;
  }
  const out: ChaosOptions = { ...base };
  for (const [k, v] of Object.entries(raw)) {
    const key = KEYS[k];
    if (!key) throw new Error(`unknown setting CHAOS_${k}`);
    if (key === 'keep' || key === 'verbose') (out[key] as boolean) = v === '1' || v === 'true';
    else {
      const n = Number(v);
      if (!Number.isFinite(n) || n < 0) throw new Error(`CHAOS_${k} must be a number >= 0, got "${v}"`);
      (out[key] as number) = n;
    }
  }
  return out;
}

/** A small deterministic PRNG, so a seed replays the same kill moments and order mix. */
export function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}
