import { Router } from 'express';
import { z } from 'zod';
import { createShop } from '../../domain/shop.service.js';
import type { ShopStore } from '../../domain/ports.js';
import { HttpProblem, zodIssues } from '../problem.js';

const shopInput = z.strictObject({
  name: z.string().trim().min(1, 'must not be empty').max(200),
  webhookUrl: z
    .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
    .max(2_000)
    .optional(),
});

export function adminRouter(shops: ShopStore): Router {
  const r = Router();
  r.post('/shops', async (req, res) => {
    const body = shopInput.safeParse(req.body);
    if (!body.success) throw new HttpProblem(400, 'validation_failed', 'the shop is invalid', zodIssues(body.error));
    res.status(201).json(await createShop(shops, body.data));
  });
  return r;
}
