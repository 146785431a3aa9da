import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { authenticateShop } from '../domain/shop.service.js';
import type { Shop, ShopStore } from '../domain/ports.js';
import { sendProblem, problemType } from './problem.js';

declare module 'express-serve-static-core' {
  interface Request {
    shop?: Shop;
  }
}

/** `Authorization: Bearer <apiKey>` -> req.shop, else 401. */
export function requireShop(shops: ShopStore): RequestHandler {
  return async (req, res, next) => {
    const match = /^Bearer ([\x21-\x7E]{1,512})$/.exec(req.get('authorization') ?? '');
    const shop = match ? await authenticateShop(shops, match[1]!) : null;
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

/** HTTP Basic for operators; compared in constant time over fixed-length digests. */
export function requireAdmin(user: string, password: string): RequestHandler {
  const expected = digest(`${user}:${password}`);
  return (req, res, next) => {
    const match = /^Basic ([A-Za-z0-9+/=]+)$/.exec(req.get('authorization') ?? '');
    const given = match ? Buffer.from(match[1]!, 'base64').toString('utf8') : '';
    if (password && match && timingSafeEqual(digest(given), expected)) return next();
    sendProblem(
      res,
      { status: 401, type: problemType('unauthorized'), detail: 'operator credentials are required' },
      { 'WWW-Authenticate': 'Basic realm="orderworks admin", charset="UTF-8"' },
    );
  };
}

export const shopOf = (req: { shop?: Shop }): Shop => {
  if (!req.shop) throw new Error('requireShop must run before this handler');
  return req.shop;
};
