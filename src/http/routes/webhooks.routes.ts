import { Router } from 'express';
import { z } from 'zod';
import { listDeliveries, requestRedelivery } from '../../webhooks/delivery-log.service.js';
import type { DeliveryView, WebhookStore } from '../../webhooks/webhook-ports.js';
import type { WebhookJobs } from '../../queue/webhook-publisher.js';
import { HttpProblem, zodIssues } from '../problem.js';
import { shopOf } from '../auth.js';

const listQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(50),
  cursor: z.uuid('is not a cursor this API returned').optional(),
  eventId: z.uuid().optional(),
});

const deliveryView = (d: DeliveryView) => ({
  id: d.id, eventId: d.eventId, eventType: d.eventType, orderId: d.orderId, url: d.url, attempt: d.attempt,
  statusCode: d.statusCode, error: d.error, durationMs: d.durationMs, outcome: d.outcome, createdAt: d.createdAt.toISOString(),
});

/** The shop's webhook delivery log and redelivery, mounted at /v1 behind shop auth. */
export function webhooksRouter(deps: { store: WebhookStore; jobs: Pick<WebhookJobs, 'redeliver'> }): Router {
  const r = Router();

  r.get('/webhook-deliveries', async (req, res) => {
    const q = listQuery.safeParse(req.query);
    if (!q.success) throw new HttpProblem(400, 'validation_failed', 'the query is invalid', zodIssues(q.error, 'query'));
    const page = await listDeliveries(deps.store, shopOf(req).id, q.data);
    res.json({ data: page.data.map(deliveryView), nextCursor: page.nextCursor });
  });

  r.post('/webhook-deliveries/:id/redeliver', async (req, res) => {
    const { eventId, orderId } = await requestRedelivery(deps, shopOf(req).id, req.params.id);
    res.status(202).json({ eventId, orderId, status: 'queued' });
  });

  return r;
}
