import express, { type RequestHandler } from 'express';
import { HttpProblem } from './problem.js';

/** JSON bodies only, up to `limit` bytes: 415 for another media type, 413 past the limit, 400 if malformed. */
export function jsonBody(limit: number): RequestHandler[] {
  const requireJson: RequestHandler = (req, _res, next) => {
    const hasBody = req.get('transfer-encoding') !== undefined || Number(req.get('content-length') ?? 0) > 0;
    if (hasBody && !req.is(['application/json', 'application/*+json'])) {
      return next(new HttpProblem(415, 'unsupported_media_type', 'send the body as JSON with Content-Type: application/json'));
    }
    next();
  };
  return [requireJson, express.json({ limit, type: ['application/json', 'application/*+json'] })];
}
