import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Request, RequestHandler } from 'express';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';

declare module 'express-serve-static-core' {
  interface Request {
    id: string;
    log: Logger;
  }
}

const QUIET = new Set(['/healthz', '/readyz', '/metrics']);

const slashes = (s: string) => {
  let n = 0;
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) === 47) n++;
  return n;
};

/**
 * The label of a request's route from its path, by the public API's documented paths (`/v1/orders/{id}` ->
 * `/v1/orders/:id`), fixed paths before those with parameters. Express's own `req.route` and `req.baseUrl`
 * are no help once an error has left a sub-router (the base is gone by then), which mislabelled every error.
 * It runs on every request: a fixed path is one map look-up, and a path is only tried against the patterns
 * with as many segments as it has.
 */
export function routeLabeller(paths: readonly string[]): (path: string) => string | undefined {
  const escape = (s: string) => s.replace(/[.*+?^$()|[\]\\]/g, '\\$&');
  const fixed = new Set(paths.filter((p) => !p.includes('{')));
  const bySegments = new Map<number, Array<{ label: string; re: RegExp }>>();
  const withParams = paths.filter((p) => p.includes('{')).sort((a, b) => (a.match(/\{/g)?.length ?? 0) - (b.match(/\{/g)?.length ?? 0));
  for (const p of withParams) {
    const patterns = bySegments.get(slashes(p)) ?? [];
    patterns.push({ label: p.replace(/\{(\w+)\}/g, ':$1'), re: new RegExp(`^${p.split(/\{\w+\}/).map(escape).join('[^/]+')}$`) });
    bySegments.set(slashes(p), patterns);
  }
  return (path) => {
    // A documented path matches with or without one trailing slash.
    const bare = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
    if (fixed.has(bare)) return bare;
    return bySegments.get(slashes(bare))?.find((p) => p.re.test(bare))?.label;
  };
}

/**
 * `req.log`: a child logger carrying the request's id, made on first use only (a request that logs nothing
 * but its one line, which the request log writes itself, never needs one).
 */
export function defineRequestLogger(request: object, logger: Logger): void {
  const made = new WeakMap<Request, Logger>();
  Object.defineProperty(request, 'log', {
    configurable: true,
    get(this: Request) {
      let log = made.get(this);
      if (!log) made.set(this, (log = logger.child({ requestId: this.id })));
      return log;
    },
  });
}

/**
 * Gives every request an id (the caller's `X-Request-Id` when it is sane, else a new one), one log line when it
 * ends (carrying the id), and its latency in the route's histogram. Routes are labelled by their pattern
 * (`/v1/orders/:id`), never by the raw path, so the label set stays small.
 */
export function requestLog(logger: Logger, metrics: Metrics, apiPaths: readonly string[] = []): RequestHandler {
  const documented = routeLabeller(apiPaths);
  return (req, res, next) => {
    const given = req.headers['x-request-id'];
    const id = typeof given === 'string' && /^[\w.-]{1,100}$/.test(given) ? given : randomUUID();
    req.id = id;
    res.setHeader('X-Request-Id', id);
    const started = performance.now();
    res.on('finish', () => {
      const ms = performance.now() - started;
      const url = req.originalUrl;
      const query = url.indexOf('?');
      const path = query === -1 ? url : url.slice(0, query);
      const route = documented(path)
        ?? (req.route ? `${req.baseUrl}${req.route.path === '/' ? '' : req.route.path}` || '/' : req.baseUrl || 'unmatched');
      const status = res.statusCode;
      metrics.httpDuration.observe({ method: req.method, route, status: String(status) }, ms / 1000);
      const level = QUIET.has(path) && status < 500 ? 'debug' : 'info';
      // The route pattern, never the raw path: paths can carry identifiers that are secrets elsewhere.
      if (logger.isLevelEnabled(level)) logger[level]({ requestId: id, method: req.method, route, status, ms: Math.round(ms) }, 'request');
    });
    next();
  };
}
