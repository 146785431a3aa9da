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
 * The label of a request's route from its path, by the public API's documented paths (`/v1/orders/{id}` ->
 * `/v1/orders/:id`), fixed paths before those with parameters. Express's own `req.route` and `req.baseUrl`
 * are no help once an error has left a sub-router (the base is gone by then), which mislabelled every error.
 */
export function routeLabeller(paths: readonly string[]): (path: string) => string | undefined {
  const escape = (s: string) => s.replace(/[.*+?^$()|[\]\\]/g, '\\$&');
  const patterns = [...paths]
    .sort((a, b) => (a.match(/\{/g)?.length ?? 0) - (b.match(/\{/g)?.length ?? 0))
    .map((p) => ({
      label: p.replace(/\{(\w+)\}/g, ':$1'),
      re: new RegExp(`^${p.split(/\{\w+\}/).map(escape).join('[^/]+')}/?$`),
    }));
  return (path) => patterns.find((p) => p.re.test(path))?.label;
}

/**
 * Gives every request an id (the caller's `X-Request-Id` when it is sane, else a new one), a child logger
 * carrying it, one log line when it ends, and its latency in the route's histogram. Routes are labelled by
 * their pattern (`/v1/orders/:id`), never by the raw path, so the label set stays small.
 */
export function requestLog(logger: Logger, metrics: Metrics, apiPaths: readonly string[] = []): RequestHandler {
  const documented = routeLabeller(apiPaths);
  return (req, res, next) => {
    const given = req.get('x-request-id');
    req.id = given && /^[\w.-]{1,100}$/.test(given) ? given : randomUUID();
    req.log = logger.child({ requestId: req.id });
    res.set('X-Request-Id', req.id);
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const route = documented(req.originalUrl.split('?')[0] ?? '')
        ?? (req.route ? `${req.baseUrl}${req.route.path === '/' ? '' : req.route.path}` || '/' : req.baseUrl || 'unmatched');
      metrics.httpDuration.observe({ method: req.method, route, status: String(res.statusCode) }, seconds);
      // The route pattern, never the raw path: paths can carry identifiers that are secrets elsewhere.
      const line = { method: req.method, route, status: res.statusCode, ms: Math.round(seconds * 1000) };
      if (QUIET.has(req.path) && res.statusCode < 500) req.log.debug(line, 'request');
      else req.log.info(line, 'request');
    });
    next();
  };
}
