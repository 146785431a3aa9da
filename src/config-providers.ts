import { z } from 'zod';

/**
 * Credentials and endpoints of the real payment providers and carriers (used when SANDBOX=0). Part of the
 * one config module (config.ts spreads `providerEnv` into its schema); kept apart because it is long.
 * A provider left unconfigured is refused at call time with a clear reason, so a deployment only
 * configures the methods and carriers it uses. Multi-line PEM keys may be given with literal "\n".
 */
const opt = z.string().min(1).optional();
const origin = z.url({ protocol: /^https?$/ }).optional();
const flag = z.enum(['0', '1']).transform((v) => v === '1').optional();

/** The route Kuaidi100 pushes to, under KUAIDI100_PUSH_BASE_URL (src/http/routes/carrier-push.routes.ts). */
export const KUAIDI100_PUSH_PATH = '/v1/carriers/kuaidi100/notify';

export const providerEnv = {
  ALIPAY_BASE_URL: origin,
  ALIPAY_APP_ID: opt,
  ALIPAY_APP_PRIVATE_KEY: opt,
  ALIPAY_PUBLIC_KEY: opt,
  WECHATPAY_BASE_URL: origin,
  WECHATPAY_MCHID: opt,
  WECHATPAY_APPID: opt,
  WECHATPAY_MERCHANT_SERIAL: opt,
  WECHATPAY_MERCHANT_PRIVATE_KEY: opt,
  WECHATPAY_PLATFORM_PUBLIC_KEY: opt,
  WECHATPAY_PLATFORM_SERIAL: opt,
  WECHATPAY_APIV3_KEY: opt,
  PAYPAL_BASE_URL: origin,
  PAYPAL_CLIENT_ID: opt,
  PAYPAL_CLIENT_SECRET: opt,
  PAYPAL_WEBHOOK_ID: opt,
  /** The platform's own PayPal merchant id: a capture that names another payee (and no shop account) is refused. */
  PAYPAL_MERCHANT_ID: opt,
  CARD_BASE_URL: origin,
  CARD_SECRET_KEY: opt,
  CARD_WEBHOOK_SECRET: opt,
  /** The platform's own Stripe account id (acct_...). */
  CARD_ACCOUNT_ID: opt,
  /** Where a card buyer's browser returns after 3-D Secure when the order gives no returnUrl. */
  CARD_RETURN_URL: origin,
  CARRIER_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
  KUAIDI100_BASE_URL: origin,
  KUAIDI100_CUSTOMER: opt,
  KUAIDI100_KEY: opt,
  KUAIDI100_DEFAULT_COM: opt,
  /** Kuaidi100's number recognition API, on another host than its query API. */
  KUAIDI100_AUTONUMBER_BASE_URL: origin,
  /** Push tracking: where Kuaidi100 reaches this deployment's web process, and the salt it signs pushes with. */
  KUAIDI100_PUSH_BASE_URL: origin,
  KUAIDI100_PUSH_SALT: z.string().min(8, 'at least 8 characters').max(64, 'at most 64 characters').optional(),
  /** Kuaidi100's 30-minute rule between two queries of a waybill; lower it only against a local fake (tests). */
  KUAIDI100_MIN_POLL_INTERVAL_MS: z.coerce.number().int().min(0).optional(),
  SF_BASE_URL: origin,
  SF_PARTNER_ID: opt,
  SF_CHECK_WORD: opt,
  /** 1: SF parcels are followed through the Kuaidi100 account (polled and, with push on, subscribed) instead. */
  SF_VIA_KUAIDI100: flag,
  ZTO_BASE_URL: origin,
  ZTO_APP_KEY: opt,
  ZTO_APP_SECRET: opt,
  ZTO_VIA_KUAIDI100: flag,
};

/** A carrier followed through the Kuaidi100 account rather than with credentials of its own. */
const VIA_KUAIDI100 = { viaKuaidi100: true } as const;

type Env = z.output<z.ZodObject<typeof providerEnv>>;

const pem = (v: string | undefined) => v?.replaceAll('\\n', '\n');

/** Each provider's settings, or null where it is not (fully) configured. */
export function providerSettings(e: Env) {
  const all = <T extends Record<string, string | undefined>>(o: T): { [K in keyof T]: string } | null =>
    Object.values(o).every((v) => v !== undefined) ? (o as { [K in keyof T]: string }) : null;
  return {
    alipay: all({ baseUrl: e.ALIPAY_BASE_URL ?? 'https://openapi.alipay.com', appId: e.ALIPAY_APP_ID, appPrivateKey: pem(e.ALIPAY_APP_PRIVATE_KEY), alipayPublicKey: pem(e.ALIPAY_PUBLIC_KEY) }),
    wechatPay: (() => {
      const required = all({
        baseUrl: e.WECHATPAY_BASE_URL ?? 'https://api.mch.weixin.qq.com', mchid: e.WECHATPAY_MCHID, appid: e.WECHATPAY_APPID,
        merchantSerial: e.WECHATPAY_MERCHANT_SERIAL, merchantPrivateKey: pem(e.WECHATPAY_MERCHANT_PRIVATE_KEY),
        platformPublicKey: pem(e.WECHATPAY_PLATFORM_PUBLIC_KEY), apiV3Key: e.WECHATPAY_APIV3_KEY,
      });
      return required && { ...required, ...(e.WECHATPAY_PLATFORM_SERIAL ? { platformSerial: e.WECHATPAY_PLATFORM_SERIAL } : {}) };
    })(),
    paypal: all({ baseUrl: e.PAYPAL_BASE_URL ?? 'https://api-m.paypal.com', clientId: e.PAYPAL_CLIENT_ID, clientSecret: e.PAYPAL_CLIENT_SECRET, webhookId: e.PAYPAL_WEBHOOK_ID }),
    paypalMerchantId: e.PAYPAL_MERCHANT_ID,
    cardAccountId: e.CARD_ACCOUNT_ID,
    cardReturnUrl: e.CARD_RETURN_URL,
    card: all({ baseUrl: e.CARD_BASE_URL ?? 'https://api.stripe.com', secretKey: e.CARD_SECRET_KEY, webhookSecret: e.CARD_WEBHOOK_SECRET }),
    carrierTimeoutMs: e.CARRIER_TIMEOUT_MS,
    kuaidi100: (() => {
      const required = all({ baseUrl: e.KUAIDI100_BASE_URL ?? 'https://poll.kuaidi100.com', customer: e.KUAIDI100_CUSTOMER, key: e.KUAIDI100_KEY });
      const push = all({ base: e.KUAIDI100_PUSH_BASE_URL, salt: e.KUAIDI100_PUSH_SALT });
      return required && {
        ...required,
        autonumberBaseUrl: e.KUAIDI100_AUTONUMBER_BASE_URL ?? 'https://www.kuaidi100.com',
        ...(e.KUAIDI100_DEFAULT_COM ? { defaultCom: e.KUAIDI100_DEFAULT_COM } : {}),
        ...(e.KUAIDI100_MIN_POLL_INTERVAL_MS === undefined ? {} : { minPollIntervalMs: e.KUAIDI100_MIN_POLL_INTERVAL_MS }),
        ...(push ? { push: { callbackUrl: `${push.base.replace(/\/+$/, '')}${KUAIDI100_PUSH_PATH}`, salt: push.salt } } : {}),
      };
    })(),
    sf: e.SF_VIA_KUAIDI100
      ? VIA_KUAIDI100
      : all({ baseUrl: e.SF_BASE_URL ?? 'https://sfapi.sf-express.com', partnerId: e.SF_PARTNER_ID, checkWord: e.SF_CHECK_WORD }),
    zto: e.ZTO_VIA_KUAIDI100 ? VIA_KUAIDI100 : all({ baseUrl: e.ZTO_BASE_URL ?? 'https://japi.zto.com', appKey: e.ZTO_APP_KEY, appSecret: e.ZTO_APP_SECRET }),
  };
}
export type ProviderSettings = ReturnType<typeof providerSettings>;
