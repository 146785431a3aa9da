import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';

declare module 'express-serve-static-core' {
  interface Request {
    id: string;
    log: Logger;
  }
}

const QUIET = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * Gives every request an id (the caller's `X-Request-Id` when it is sane, else a new one), a child logger
 * carrying it, one log line when it ends, and its latency in the route's histogram. Routes are labelled by
 * their pattern (`/v1/orders/:id`), never by the raw path, so the label set stays small.
 */
export function requestLog(logger: Logger, metrics: Metrics): RequestHandler {
  return (req, res, next) => {
    const given = req.get('x-request-id');
    req.id = given && /^[\w.-]{1,100}$/.test(given) ? given : randomUUID();
    req.log = logger.child({ requestId: req.id });
    res.set('X-Request-Id', req.id);
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const route = req.route ? `${req.baseUrl}${req.route.path === '/' ? '' : req.route.path}` || '/' : req.baseUrl || 'unmatched';
      metrics.httpDuration.observe({ method: req.method, route, status: String(res.statusCode) }, seconds);
      // The route pattern, never the raw path: paths can carry identifiers that are secrets elsewhere.
      const line = { method: req.method, route, status: res.statusCode, ms: Math.round(seconds * 1000) };
      if (QUIET.has(req.path) && res.statusCode < 500) req.log.debug(line, 'request');
      else req.log.info(line, 'request');
    });
    next();
  };
}
