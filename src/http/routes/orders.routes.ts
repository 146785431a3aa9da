import { Router } from 'express';
import { z } from 'zod';
import { getOrder, listOrders, receivedOrder, submitOrder, type OrderDeps } from '../../domain/order.service.js';
import { idempotencyKeySchema, orderInputSchema } from '../../domain/order-input.js';
import { ORDER_STATUSES } from '../../domain/order.js';
import { HttpProblem, zodIssues } from '../problem.js';
import { shopOf } from '../auth.js';
import { sendJson } from '../answer.js';
import { orderView } from '../views.js';

const listQuery = z.strictObject({
  status: z.enum(ORDER_STATUSES).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(50),
  cursor: z.uuid('is not a cursor this API returned').optional(),
});

export function ordersRouter(deps: OrderDeps): Router {
  const r = Router();

  r.post('/', async (req, res) => {
    const key = idempotencyKeySchema.safeParse(req.get('idempotency-key'));
    const body = orderInputSchema.safeParse(req.body);
    const errors = [...(key.success ? [] : zodIssues(key.error, 'header.Idempotency-Key')), ...(body.success ? [] : zodIssues(body.error))];
    if (!key.success || !body.success) throw new HttpProblem(400, 'validation_failed', 'the order is invalid', errors);
    const shop = shopOf(req);
    const accepted = await submitOrder(deps, shop.id, key.data, body.data);
    // A new order is exactly its input so far; a replay shows where the order is now.
    const order = accepted.created
      ? receivedOrder(accepted.id, shop.id, body.data, accepted.createdAt)
      : await getOrder(deps.orders, shop.id, accepted.id);
    res.setHeader('Location', `/v1/orders/${order.id}`);
    sendJson(res, 202, orderView(order));
  });

  r.get('/', async (req, res) => {
    const q = listQuery.safeParse(req.query);
    if (!q.success) throw new HttpProblem(400, 'validation_failed', 'the query is invalid', zodIssues(q.error, 'query'));
    const page = await listOrders(deps.orders, shopOf(req).id, { status: q.data.status, limit: q.data.limit, after: q.data.cursor });
    res.json({ data: page.data.map(orderView), nextCursor: page.nextCursor });
  });

  r.get('/:id', async (req, res) => {
    res.json(orderView(await getOrder(deps.orders, shopOf(req).id, req.params.id)));
  });

  return r;
}
