import { Router } from 'express';
import { returnCancelSchema, returnInputSchema } from '../../domain/return-input.js';
import { cancelReturn, receiveReturn, requestReturn, type ReturnDeps } from '../../domain/return.service.js';
import { keyedRequest } from '../keyed-request.js';
import { HttpProblem, zodIssues } from '../problem.js';
import { shopOf } from '../auth.js';
import { returnView } from '../views.js';

/** `POST /v1/orders/{id}/returns`: goods coming back from a shipped or delivered order. */
export function orderReturnsRouter(deps: ReturnDeps): Router {
  const r = Router();
  r.post('/:id/returns', async (req, res) => {
    const { key, body } = keyedRequest(req, returnInputSchema, 'return');
    const { ret, created } = await requestReturn(deps, shopOf(req).id, req.params.id, key, body);
    res.status(created ? 201 : 200).location(`/v1/returns/${ret.id}`).json(returnView(ret));
  });
  return r;
}

/**
 * `GET /v1/returns/{id}`, `POST /v1/returns/{id}/receive` (the shop has the goods back) and
 * `POST /v1/returns/{id}/cancel` (it will not come back).
 */
export function returnsRouter(deps: Pick<ReturnDeps, 'returns' | 'refunds'>): Router {
  const r = Router();
  r.get('/:id', async (req, res) => {
    res.json(returnView(await deps.returns.get(shopOf(req).id, req.params.id)));
  });
  r.post('/:id/receive', async (req, res) => {
    res.json(returnView(await receiveReturn(deps, shopOf(req).id, req.params.id)));
  });
  r.post('/:id/cancel', async (req, res) => {
    const body = returnCancelSchema.safeParse(req.body ?? {});
    if (!body.success) throw new HttpProblem(400, 'validation_failed', 'the cancellation is invalid', zodIssues(body.error));
    res.json(returnView(await cancelReturn(deps, shopOf(req).id, req.params.id, body.data)));
  });
  return r;
}
