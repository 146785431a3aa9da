import { Router } from 'express';
import { z } from 'zod';
import { createShop, updateShop } from '../../domain/shop.service.js';
import { text } from '../../domain/order-input.js';
import type { ShopStore } from '../../domain/ports.js';
import { HttpProblem, zodIssues } from '../problem.js';
import { assertPublicUrl } from '../../webhooks/address-guard.js';

const webhookUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).max(2_000);
/** Each provider's own id format for a sub-merchant (partner mode). */
const merchantAccounts = {
  wechat_pay: z.strictObject({ subMchid: z.string().regex(/^[0-9]{8,32}$/, 'must be a WeChat Pay sub_mchid (digits)') }),
  alipay: z.strictObject({ appAuthToken: z.string().regex(/^[0-9A-Za-z._-]{8,64}$/, 'must be an Alipay app_auth_token') }),
  paypal: z.strictObject({ payeeMerchantId: z.string().regex(/^[0-9A-Z]{13}$/, 'must be a PayPal merchant id (13 letters and digits)') }),
  card: z.strictObject({ account: z.string().regex(/^acct_[0-9A-Za-z]{1,64}$/, 'must be a connected account id (acct_...)') }),
};
const merchants = z.strictObject(merchantAccounts);
const merchantChanges = z.strictObject(
  Object.fromEntries(Object.entries(merchantAccounts).map(([k, v]) => [k, v.nullable().optional()])) as { [K in keyof typeof merchantAccounts]: z.ZodOptional<z.ZodNullable<(typeof merchantAccounts)[K]>> },
);
const shopInput = z.strictObject({ name: text(200), webhookUrl: webhookUrl.optional(), merchants: merchants.partial().optional() });
const shopChange = z.strictObject({ name: text(200).optional(), webhookUrl: webhookUrl.nullable().optional(), merchants: merchantChanges.optional() });

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
