import type { RequestHandler } from 'express';
import { DomainError } from '../domain/errors.js';
import { HttpProblem } from './problem.js';

export interface NotifyBodyLimits {
  /** Largest body: 413 past it. */
  limitBytes: number;
  /** Bodies received at once by this process, from arrival to answer: 429 past it. */
  maxConcurrent: number;
  /** How long the whole body may take to arrive: 408 past it. */
  timeoutMs: number;
}

/**
 * The raw body of an unauthenticated provider notification, read within bounds. Anyone can call the notify
 * route, so what one caller can make this process hold is capped: a declared Content-Length over the limit is
 * refused before a byte is read, a chunked body the moment it passes the limit, a slow one at its deadline, and
 * past `maxConcurrent` bodies in hand a new one is refused at once. A refusal closes the connection rather than
 * reading the rest of what the client still sends. Memory held by notification bodies is at most
 * `maxConcurrent * limitBytes`.
 */
export function notifyBody(limits: NotifyBodyLimits): RequestHandler {
  let inHand = 0;
  return (req, res, next) => {
    const refuse = (error: Error) => {
      res.set('Connection', 'close');
      next(error);
    };
    const declared = Number(req.get('content-length') ?? 0);
    if (declared > limits.limitBytes) return refuse(tooLarge(limits.limitBytes));
    // Providers send notifications uncompressed; inflating one would only let a small body grow large.
    const encoding = req.get('content-encoding')?.trim().toLowerCase();
    if (encoding && encoding !== 'identity') return refuse(new HttpProblem(415, 'unsupported_encoding', 'notifications are accepted without Content-Encoding'));
    if (inHand >= limits.maxConcurrent) {
      return refuse(new DomainError('rate_limited', 'too many notifications are arriving at once; retry shortly', { permanent: false, retryAfterSeconds: 1 }));
    }
    inHand++;
    res.once('close', () => inHand--);

    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (error?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      req.off('data', onData).off('end', onEnd).off('error', onAbort).off('close', onClose);
      if (error) return refuse(error);
      req.body = Buffer.concat(chunks, size);
      next();
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limits.limitBytes) {
        req.pause();
        return settle(tooLarge(limits.limitBytes));
      }
      chunks.push(chunk);
    };
    const onEnd = () => settle();
    const onAbort = () => settle(new HttpProblem(400, 'request_aborted', 'the request was aborted'));
    const onClose = () => {
      if (!req.complete) onAbort();
    };
    const deadline = setTimeout(() => settle(new HttpProblem(408, 'body_timeout', 'the request body did not arrive in time')), limits.timeoutMs);
    req.on('data', onData).on('end', onEnd).on('error', onAbort).on('close', onClose);
  };
}

const tooLarge = (limit: number) => new HttpProblem(413, 'body_too_large', `a notification body is at most ${limit} bytes`);
