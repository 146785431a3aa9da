import { z } from 'zod';

/**
 * A shop's own merchant account at each provider (docs/api.md section 6, partner mode), each in its provider's
 * own id format: its money then goes there, never through the platform's account.
 */
export const merchantAccountSchemas = {
  wechat_pay: z.strictObject({ subMchid: z.string().regex(/^[0-9]{8,32}$/, 'must be a WeChat Pay sub_mchid (digits)').describe('WeChat Pay sub-merchant id (service-provider API, sp_mchid/sub_mchid)') }),
  alipay: z.strictObject({ appAuthToken: z.string().regex(/^[0-9A-Za-z._-]{8,64}$/, 'must be an Alipay app_auth_token').describe('the app_auth_token the merchant granted the platform') }),
  paypal: z.strictObject({ payeeMerchantId: z.string().regex(/^[0-9A-Z]{13}$/, 'must be a PayPal merchant id (13 letters and digits)').describe('PayPal payee.merchant_id') }),
  card: z.strictObject({ account: z.string().regex(/^acct_[0-9A-Za-z]{1,64}$/, 'must be a connected account id (acct_...)').describe('the connected account (Stripe-Account)') }),
};
export const merchantsSchema = z.strictObject(merchantAccountSchemas).partial();
/** A change of merchant accounts: the methods given are set, those given as null removed, the others kept. */
export const merchantChangesSchema = z.strictObject({
  wechat_pay: merchantAccountSchemas.wechat_pay.nullable().optional(),
  alipay: merchantAccountSchemas.alipay.nullable().optional(),
  paypal: merchantAccountSchemas.paypal.nullable().optional(),
  card: merchantAccountSchemas.card.nullable().optional(),
});
