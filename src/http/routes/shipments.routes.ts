import { Router } from 'express';
import { z } from 'zod';
import { CARRIERS } from '../../domain/carrier.js';
import { readDelayedCursor } from '../../domain/delayed-cursor.js';
import { text } from '../../domain/order-input.js';
import { trackingNumberSchema } from '../../domain/shipment-input.js';
import { createShipment, listDelayedShipments, type ShipmentCreationDeps } from '../../domain/tracking.service.js';
import { HttpProblem, zodIssues } from '../problem.js';
import { shopOf } from '../auth.js';
import { delayedShipmentView, shipmentView } from '../views.js';

const shipmentInput = z.strictObject({
  carrier: z.enum(CARRIERS, { error: `must be one of ${CARRIERS.join(', ')}` }),
  trackingNumber: trackingNumberSchema,
  /** Where the parcel leaves from: with the order's destination, the route that delivery estimates learn on. */
  fromCity: text(100).optional(),
});

/** `POST /v1/orders/{id}/shipments`: ship a paid order; tracking starts at once. */
export function shipmentsRouter(deps: ShipmentCreationDeps): Router {
  const r = Router();
  r.post('/:id/shipments', async (req, res) => {
    const body = shipmentInput.safeParse(req.body ?? {});
    if (!body.success) throw new HttpProblem(400, 'validation_failed', 'the shipment is invalid', zodIssues(body.error));
    const { shipment, created } = await createShipment(deps, { shopId: shopOf(req).id, orderId: req.params.id, ...body.data });
    res.status(created ? 201 : 200).location(`/v1/orders/${req.params.id}`).json(shipmentView(shipment));
  });
  return r;
}

const delayedQuery = z.strictObject({
  // Only late parcels can be listed for now; the parameter keeps room for other filters.
  delayed: z.literal('true', { error: 'must be true' }),
  limit: z.coerce.number().int().min(1).max(100).default(50),
  cursor: z
    .string()
    .refine((c) => readDelayedCursor(c) !== null, 'is not a cursor this API returned')
    .transform((c) => readDelayedCursor(c)!)
    .optional(),
});

/** `GET /v1/shipments?delayed=true`: the shop's late parcels, oldest delay first. */
export function shipmentListRouter(deps: Pick<ShipmentCreationDeps, 'shipments'>): Router {
  const r = Router();
  r.get('/', async (req, res) => {
    const q = delayedQuery.safeParse(req.query);
    if (!q.success) throw new HttpProblem(400, 'validation_failed', 'the query is invalid', zodIssues(q.error, 'query'));
    const page = await listDelayedShipments(deps.shipments, shopOf(req).id, { limit: q.data.limit, after: q.data.cursor ?? null });
    res.json({ data: page.data.map(delayedShipmentView), nextCursor: page.nextCursor });
  });
  return r;
}
