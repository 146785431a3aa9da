import { Router } from 'express';
import { z } from 'zod';
import { ORDER_STATUSES } from '../../domain/order.js';
import { findOrders, lookupOrder, type OrderLookupDeps } from '../../domain/order-lookup.service.js';
import type { OrderJob, OrderSummary } from '../../domain/order-lookup.ports.js';
import { HttpProblem, zodIssues } from '../problem.js';
import { orderView } from '../views.js';

const searchQuery = z.strictObject({
  shopId: z.uuid().optional(),
  status: z.enum(ORDER_STATUSES).optional(),
  q: z.string().trim().min(1).max(255).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(50),
  cursor: z.uuid('is not a cursor this API returned').optional(),
});

const summaryView = (o: OrderSummary) => ({
  ...o, createdAt: o.createdAt.toISOString(), updatedAt: o.updatedAt.toISOString(),
});

const jobView = (j: OrderJob) => ({
  ...j, createdAt: j.createdAt?.toISOString() ?? null, finishedAt: j.finishedAt?.toISOString() ?? null,
});

/** Operators' order lookup across shops (docs/api.md section 9), mounted at /v1/admin behind operator auth. */
export function adminOrdersRouter(deps: OrderLookupDeps): Router {
  const r = Router();
  r.get('/orders', async (req, res) => {
    const q = searchQuery.safeParse(req.query);
    if (!q.success) throw new HttpProblem(400, 'validation_failed', 'the query is invalid', zodIssues(q.error, 'query'));
    const { cursor, q: text, ...rest } = q.data;
    const page = await findOrders(deps, { ...rest, text, after: cursor });
    res.json({ data: page.data.map(summaryView), nextCursor: page.nextCursor });
  });
  r.get('/orders/:id', async (req, res) => {
    const { order, jobs } = await lookupOrder(deps, req.params.id);
    res.json({ order: { ...orderView(order), shopId: order.shopId }, jobs: jobs.map(jobView) });
  });
  return r;
}
