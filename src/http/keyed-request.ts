import type { Request } from 'express';
import type { z } from 'zod';
import { idempotencyKeySchema } from '../domain/order-input.js';
import { HttpProblem, zodIssues } from './problem.js';

/**
 * An order action's request (a refund, a switch of payment, a return): its Idempotency-Key header and its JSON
 * body (none: `{}`), both checked at once, so a 400 names every field that is wrong, the header included.
 */
export function keyedRequest<S extends z.ZodType>(req: Request, schema: S, what: string): { key: string; body: z.output<S> } {
  const key = idempotencyKeySchema.safeParse(req.get('idempotency-key'));
  const body = schema.safeParse(req.body ?? {});
  const errors = [...(key.success ? [] : zodIssues(key.error, 'header.Idempotency-Key')), ...(body.success ? [] : zodIssues(body.error))];
  if (!key.success || !body.success) throw new HttpProblem(400, 'validation_failed', `the ${what} is invalid`, errors);
  return { key: key.data, body: body.data };
}
