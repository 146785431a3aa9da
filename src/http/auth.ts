import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { hashApiKey } from '../domain/shop.service.js';
import type { Shop, ShopStore } from '../domain/ports.js';
import { sendProblem, problemType } from './problem.js';

declare module 'express-serve-static-core' {
  interface Request {
    shop?: Shop;
  }
}

/** How long a verified API key is trusted without asking Postgres again (keys are never rotated in place). */
const KEY_CACHE_MS = 60_000;
const KEY_CACHE_MAX = 10_000;

/**
 * `Authorization: Bearer <apiKey>` -> req.shop, else 401. Verified keys are cached briefly (by their hash,
 * never the key itself): the intake's hot path then makes one database round trip per order, not two.
 * Unknown keys are not cached, so a flood of wrong keys cannot fill the cache.
 */
export function requireShop(shops: ShopStore): RequestHandler {
  const cache = new Map<string, { shop: Shop; until: number }>();
  const lookup = async (apiKey: string) => {
    const hash = hashApiKey(apiKey);
    const hit = cache.get(hash);
    if (hit && hit.until > Date.now()) return hit.shop;
    const shop = await shops.findByApiKeyHash(hash);
    if (shop) {
      if (cache.size >= KEY_CACHE_MAX) cache.delete(cache.keys().next().value!);
      cache.set(hash, { shop, until: Date.now() + KEY_CACHE_MS });
    }
    return shop;
  };
  return async (req, res, next) => {
    const match = /^Bearer ([\x21-\x7E]{1,512})$/.exec(req.get('authorization') ?? '');
    const shop = match ? await lookup(match[1]!) : null;
    if (!shop) {
      return sendProblem(
        res,
        { status: 401, type: problemType('unauthorized'), detail: 'a valid API key is required: Authorization: Bearer <apiKey>' },
        { 'WWW-Authenticate': 'Bearer' },
      );
    }
    req.shop = shop;
    next();
  };
}

const digest = (s: string) => createHash('sha256').update(s).digest();

export type OperatorRole = 'admin' | 'viewer' | 'metrics';
type Credentials = { user: string; password: string };
export interface OperatorLogins {
  admin?: Credentials | null;
  viewer?: Credentials | null;
  /** METRICS_TOKEN: `Authorization: Bearer <token>` for a Prometheus scraper. */
  metricsToken?: string | null;
}

/**
 * The operator role an `Authorization` header proves (Basic for people, Bearer METRICS_TOKEN for a scraper),
 * compared in constant time over fixed-length digests; null when it proves none.
 */
export function operatorAuthenticator(logins: OperatorLogins): (authorization: string | undefined) => OperatorRole | null {
  const basic = (['admin', 'viewer'] as const)
    .flatMap((role) => (logins[role]?.password ? [[role, digest(`${logins[role].user}:${logins[role].password}`)] as const] : []));
  const token = logins.metricsToken ? digest(logins.metricsToken) : null;
  return (authorization = '') => {
    const b = /^Basic ([A-Za-z0-9+/=]+)$/.exec(authorization);
    if (b) {
      const given = digest(Buffer.from(b[1]!, 'base64').toString('utf8'));
      return basic.find(([, want]) => timingSafeEqual(given, want))?.[0] ?? null;
    }
    const t = /^Bearer ([\x21-\x7E]{1,512})$/.exec(authorization);
    return t && token && timingSafeEqual(digest(t[1]!), token) ? 'metrics' : null;
  };
}

const FAILURE_WINDOW_MS = 60_000;
const TRACKED_ADDRESSES_MAX = 10_000;

/**
 * Slows down guessing: past `allowed` wrong credentials from one address in a minute, that address gets 429 with
 * Retry-After until the minute ends, even with the right credentials. Memory stays bounded.
 */
export function createAuthThrottle(allowed = 10, now = Date.now) {
  const failures = new Map<string, { count: number; until: number }>();
  return {
    /** Seconds this address must wait, or 0. */
    waitFor(address: string): number {
      const f = failures.get(address);
      if (!f || f.until <= now()) return 0;
      return f.count > allowed ? Math.ceil((f.until - now()) / 1000) : 0;
    },
    failed(address: string) {
      const f = failures.get(address);
      if (f && f.until > now()) f.count++;
      else {
        if (failures.size >= TRACKED_ADDRESSES_MAX) failures.delete(failures.keys().next().value!);
        failures.set(address, { count: 1, until: now() + FAILURE_WINDOW_MS });
      }
    },
  };
}
export type AuthThrottle = ReturnType<typeof createAuthThrottle>;

/**
 * Operator auth for Express: sets `res.locals.role` to the role the credentials prove among `roles`; 401 when
 * none, 429 when the client's address has guessed too often (one throttle shared by every operator route).
 */
export function requireOperator(logins: OperatorLogins, throttle: AuthThrottle = createAuthThrottle(), roles: OperatorRole[] = ['admin', 'viewer']): RequestHandler {
  const authenticate = operatorAuthenticator(logins);
  return (req, res, next) => {
    const address = req.socket.remoteAddress ?? 'unknown';
    const wait = throttle.waitFor(address);
    if (wait > 0) {
      return sendProblem(res, { status: 429, type: problemType('rate_limited'), detail: 'too many wrong operator credentials: wait and retry' }, { 'Retry-After': String(wait) });
    }
    const role = authenticate(req.get('authorization'));
    if (role && roles.includes(role)) {
      res.locals.role = role;
      return next();
    }
    // Only presented credentials count as a guess: a browser's first request without any is not one.
    if (req.get('authorization')) throttle.failed(address);
    sendProblem(
      res,
      { status: 401, type: problemType('unauthorized'), detail: 'operator credentials are required' },
      { 'WWW-Authenticate': 'Basic realm="orderworks admin", charset="UTF-8"' },
    );
  };
}

export const requireAdmin = (user: string, password: string, throttle?: AuthThrottle) => requireOperator({ admin: { user, password } }, throttle, ['admin']);

export const shopOf = (req: { shop?: Shop }): Shop => {
  if (!req.shop) throw new Error('requireShop must run before this handler');
  return req.shop;
};
