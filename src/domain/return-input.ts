import { z } from 'zod';
import { CARRIERS } from './carrier.js';
import { MAX_QUANTITY, skuSchema, text } from './order-input.js';
import { trackingNumberSchema } from './shipment-input.js';

/** `POST /v1/orders/{id}/returns` (docs/api.md section 7a). */
export const returnInputSchema = z
  .strictObject({
    items: z
      .array(z.strictObject({ sku: skuSchema, quantity: z.number().int('must be a whole number').min(1, 'must be at least 1').max(MAX_QUANTITY) }))
      .min(1, 'must list at least one line')
      .max(100, 'must list at most 100 lines')
      .refine((items) => new Set(items.map((i) => i.sku)).size === items.length, 'must list each sku once'),
    reason: text(500),
    restock: z.boolean().default(false),
    carrier: z.enum(CARRIERS, { error: `must be one of ${CARRIERS.join(', ')}` }).optional(),
    trackingNumber: trackingNumberSchema.optional(),
  })
  .refine((r) => (r.carrier === undefined) === (r.trackingNumber === undefined), {
    message: 'carrier and trackingNumber go together: give both or neither',
    path: ['trackingNumber'],
  });
export type ReturnInput = z.output<typeof returnInputSchema>;

/** `POST /v1/returns/{id}/cancel`: why, optionally (the body may be absent). */
export const returnCancelSchema = z.strictObject({ reason: text(500).optional() });
export type ReturnCancelInput = z.output<typeof returnCancelSchema>;
