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

export type OperatorRole = 'admin' | 'viewer';
type Credentials = { user: string; password: string };

/**
 * HTTP Basic for operators, compared in constant time over fixed-length digests. Sets `res.locals.role`
 * to the first role whose credentials match; 401 when none does.
 */
export function requireOperator(logins: Partial<Record<OperatorRole, Credentials | null>>): RequestHandler {
  const expected = Object.entries(logins)
    .filter((e): e is [OperatorRole, Credentials] => Boolean(e[1]?.password))
    .map(([role, c]) => [role, digest(`${c.user}:${c.password}`)] as const);
  return (req, res, next) => {
    const match = /^Basic ([A-Za-z0-9+/=]+)$/.exec(req.get('authorization') ?? '');
    const given = digest(match ? Buffer.from(match[1]!, 'base64').toString('utf8') : '');
    const role = match ? expected.find(([, want]) => timingSafeEqual(given, want))?.[0] : undefined;
    if (role) {
      res.locals.role = role;
      return next();
    }
    sendProblem(
      res,
      { status: 401, type: problemType('unauthorized'), detail: 'operator credentials are required' },
      { 'WWW-Authenticate': 'Basic realm="orderworks admin", charset="UTF-8"' },
    );
  };
}

export const requireAdmin = (user: string, password: string) => requireOperator({ admin: { user, password } });

export const shopOf = (req: { shop?: Shop }): Shop => {
  if (!req.shop) throw new Error('requireShop must run before this handler');
  return req.shop;
};
