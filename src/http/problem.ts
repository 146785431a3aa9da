import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import { ZodError } from 'zod';
import { DomainError, type ErrorCode, type FieldIssue } from '../domain/errors.js';
import type { Logger } from '../logger.js';

/** RFC 9457 problem details: the one shape of every error this API answers. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  errors?: FieldIssue[];
}

const STATUS: Record<ErrorCode, number> = {
  validation_failed: 400,
  unauthorized: 401,
  not_found: 404,
  conflict: 409,
  limit_reached: 409,
  idempotency_key_reused: 409,
  rate_limited: 429,
  dependency_unavailable: 503,
  payment_declined: 409,
  provider_rejected: 502,
  provider_unavailable: 503,
  carrier_unavailable: 503,
  carrier_rejected: 502,
  invariant_violated: 500,
};

const TITLES: Record<number, string> = {
  400: 'Bad Request', 401: 'Unauthorized', 404: 'Not Found', 405: 'Method Not Allowed', 408: 'Request Timeout', 409: 'Conflict',
  413: 'Content Too Large', 415: 'Unsupported Media Type', 429: 'Too Many Requests', 500: 'Internal Server Error',
  502: 'Bad Gateway', 503: 'Service Unavailable',
};

export class HttpProblem extends Error {
  constructor(readonly status: number, readonly type: string, detail: string, readonly errors?: FieldIssue[]) {
    super(detail);
  }
}

export function sendProblem(res: Response, p: Omit<Problem, 'title'> & { title?: string }, headers: Record<string, string> = {}) {
  const body: Problem = { type: p.type, title: p.title ?? TITLES[p.status] ?? 'Error', status: p.status, detail: p.detail };
  if (p.errors?.length) body.errors = p.errors;
  res.status(p.status).set(headers).type('application/problem+json').send(JSON.stringify(body));
}

export const zodIssues = (e: ZodError, prefix = ''): FieldIssue[] =>
  e.issues.map((i) => ({ path: [prefix, ...i.path.map(String)].filter(Boolean).join('.') || '(body)', message: i.message }));

const typeUri = (code: string) => `https://orderworks.dev/problems/${code.replaceAll('_', '-')}`;

/** Body-parser errors carry a `type`; each is the client's fault and has its own status. */
const PARSER_ERRORS: Record<string, [number, string, string]> = {
  'entity.parse.failed': [400, 'malformed_json', 'the request body is not valid JSON'],
  'entity.too.large': [413, 'body_too_large', 'the request body is too large'],
  'encoding.unsupported': [415, 'unsupported_encoding', 'the request body encoding is not supported'],
  'charset.unsupported': [415, 'unsupported_charset', 'the request body charset is not supported'],
  'request.aborted': [400, 'request_aborted', 'the request was aborted'],
  'request.size.invalid': [400, 'malformed_request', 'the request body length does not match Content-Length'],
};

export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    if (res.headersSent) return void req.socket.destroy();
    if (err instanceof HttpProblem) return sendProblem(res, { status: err.status, type: typeUri(err.type), detail: err.message, errors: err.errors });
    if (err instanceof ZodError) {
      return sendProblem(res, { status: 400, type: typeUri('validation_failed'), detail: 'the request is invalid', errors: zodIssues(err) });
    }
    if (err instanceof DomainError) {
      const status = STATUS[err.code];
      const headers: Record<string, string> = {};
      if (status === 503 || status === 429) headers['Retry-After'] = String(err.options.retryAfterSeconds ?? 5);
      if (status >= 500) logger.warn({ err, code: err.code }, 'request failed on a dependency');
      return sendProblem(res, { status, type: typeUri(err.code), detail: err.message, errors: err.options.fields }, headers);
    }
    const parser = typeof err?.type === 'string' ? PARSER_ERRORS[err.type] : undefined;
    if (parser) return sendProblem(res, { status: parser[0], type: typeUri(parser[1]), detail: parser[2] });
    // Other client errors raised by Express or body-parser (a malformed %-escape in the path, a body whose
    // Content-Encoding does not match) carry their 4xx status: they are the client's, not ours.
    const status = Number(err?.status ?? err?.statusCode);
    if (status >= 400 && status < 500) {
      return sendProblem(res, { status, type: typeUri('bad_request'), detail: status === 400 ? 'the request is malformed' : (TITLES[status] ?? 'client error') });
    }
    logger.error({ err, method: req.method, path: req.path }, 'unhandled error');
    sendProblem(res, { status: 500, type: typeUri('internal_error'), detail: 'an unexpected error occurred; it has been logged' });
  };
}

export const notFoundHandler: RequestHandler = (req, res) =>
  sendProblem(res, { status: 404, type: typeUri('not_found'), detail: `no route for ${req.method} ${req.path}` });

export const problemType = typeUri;
