import { Router } from 'express';
import { z } from 'zod';
import { createShop, updateShop } from '../../domain/shop.service.js';
import { text } from '../../domain/order-input.js';
import { merchantChangesSchema, merchantsSchema } from '../../domain/shop-input.js';
import type { ShopStore } from '../../domain/ports.js';
import { HttpProblem, zodIssues } from '../problem.js';
import { assertPublicUrl } from '../../webhooks/address-guard.js';

const webhookUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).max(2_000);
const shopInput = z.strictObject({ name: text(200), webhookUrl: webhookUrl.optional(), merchants: merchantsSchema.optional() });
const shopChange = z.strictObject({ name: text(200).optional(), webhookUrl: webhookUrl.nullable().optional(), merchants: merchantChangesSchema.optional() });

export function adminRouter(shops: ShopStore, allowPrivateWebhooks: boolean): Router {
  const r = Router();
  r.post('/shops', async (req, res) => {
    const body = shopInput.safeParse(req.body);
    if (!body.success) throw new HttpProblem(400, 'validation_failed', 'the shop is invalid', zodIssues(body.error));
    // A webhook URL must resolve to public addresses (checked again at every delivery).
    if (body.data.webhookUrl) await assertPublicUrl(body.data.webhookUrl, allowPrivateWebhooks);
    res.status(201).json(await createShop(shops, body.data));
  });
  r.patch('/shops/:id', async (req, res) => {
    const body = shopChange.safeParse(req.body);
    if (!body.success) throw new HttpProblem(400, 'validation_failed', 'the change is invalid', zodIssues(body.error));
    if (body.data.webhookUrl) await assertPublicUrl(body.data.webhookUrl, allowPrivateWebhooks);
    res.json(await updateShop(shops, req.params.id, body.data));
  });
  return r;
}
