import type { Response } from 'express';

/**
 * A text answer with the headers Express's `res.type(t).send(body)` gives it (the media type with
 * `charset=utf-8`, Content-Length; ETags are off in this app), written without its work per call: a mime-db
 * look-up and two parses of Content-Type, a settings read, a freshness check only GET and HEAD need. For the
 * answers every order gets: the intake's 202 and a provider's acknowledgement. A media type with parameters,
 * or a shorthand (`json`), goes through Express.
 */
export function sendText(res: Response, status: number, mediaType: string, body: string): void {
  if (mediaType.includes(';') || !mediaType.includes('/')) return void res.status(status).type(mediaType).send(body);
  res.statusCode = status;
  res.setHeader('Content-Type', `${mediaType.toLowerCase()}; charset=utf-8`);
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(body);
}

/** What `res.status(status).json(value)` answers (the app sets no JSON replacer, spacing or escaping). */
export const sendJson = (res: Response, status: number, value: unknown): void => sendText(res, status, 'application/json', JSON.stringify(value));
