import type { RequestHandler } from 'express';
import { problemType, sendProblem } from './problem.js';

/**
 * Per-shop rate limit: a token bucket per shop, refilled at `perSecond` with room for a burst of one second.
 * Kept in each web process's memory, not in Redis: the intake must keep accepting orders while Redis is
 * down, and a hot path should not pay a round trip for it. With N web processes a shop gets up to N times
 * the rate; set SHOP_RATE_LIMIT_PER_SECOND accordingly.
 */
export function rateLimitPerShop(perSecond: number, now = () => Date.now()): RequestHandler {
  const buckets = new Map<string, { tokens: number; at: number }>();
  return (req, res, next) => {
    const shopId = req.shop?.id;
    if (!shopId || perSecond <= 0) return next();
    const t = now();
    const b = buckets.get(shopId) ?? { tokens: perSecond, at: t };
    b.tokens = Math.min(perSecond, b.tokens + ((t - b.at) / 1000) * perSecond);
    b.at = t;
    buckets.set(shopId, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return next();
    }
    const retryAfter = Math.max(1, Math.ceil((1 - b.tokens) / perSecond));
    sendProblem(
      res,
      { status: 429, type: problemType('rate_limited'), detail: `more than ${perSecond} requests a second from this shop` },
      { 'Retry-After': String(retryAfter) },
    );
  };
}
