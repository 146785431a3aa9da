import type { Config } from '../config.js';
import type { Database } from '../db/database.js';
import { createPaymentGateways, type PaymentGatewaysOptions } from '../payments/payment-gateways.js';
import { notifyUrlTemplate, type PaymentGateways } from '../payments/configured-gateways.js';
import { loadSandboxCredentials, type SandboxCredentials } from './sandbox-credentials.js';
import { cardPlatformAccount } from './payments/card-intent.js';
import { paypalPlatformMerchant } from './payments/paypal-order.js';

/** The payment gateways of a SANDBOX=1 deployment: every provider is the bundled sandbox, keys shared through Postgres. */
export async function sandboxPaymentGateways(config: Pick<Config, 'sandboxBaseUrl' | 'paymentTimeoutMs' | 'publicUrl'>, db: Database): Promise<PaymentGateways> {
  const common = { timeoutMs: config.paymentTimeoutMs, notifyUrl: notifyUrlTemplate(config) };
  return createPaymentGateways(sandboxPaymentGatewaysOptions(await loadSandboxCredentials(db), config.sandboxBaseUrl, common));
}

/**
 * The sandbox's script tokens (`tok_ok`...) are shared by every order, while a real approved PayPal order is
 * one per checkout: in sandbox mode the PayPal order id is the token scoped by our reference.
 */
export const sandboxPaypalOrderId = (r: { token: string; reference: string }) => `${r.token}~${r.reference}`;

/**
 * Options for SANDBOX=1: every provider is the bundled sandbox served under `sandboxBaseUrl`
 * (e.g. `http://127.0.0.1:3000/sandbox`), with the keys stored by loadSandboxCredentials.
 */
export function sandboxPaymentGatewaysOptions(
  credentials: SandboxCredentials,
  sandboxBaseUrl: string,
  extra: { timeoutMs?: number; notifyUrl?: string } = {},
): PaymentGatewaysOptions {
  const base = sandboxBaseUrl.replace(/\/+$/, '');
  const { alipay, wechatPay, paypal, card } = credentials;
  return {
    alipay: { baseUrl: `${base}/alipay`, appId: alipay.appId, appPrivateKey: alipay.appPrivateKey, alipayPublicKey: alipay.alipayPublicKey },
    wechatPay: {
      baseUrl: `${base}/wechatpay`,
      mchid: wechatPay.mchid,
      appid: wechatPay.appid,
      merchantSerial: wechatPay.merchantSerial,
      merchantPrivateKey: wechatPay.merchantPrivateKey,
      platformPublicKey: wechatPay.platformPublicKey,
      platformSerial: wechatPay.platformSerial,
      apiV3Key: wechatPay.apiV3Key,
    },
    paypal: { baseUrl: `${base}/paypal`, clientId: paypal.clientId, clientSecret: paypal.clientSecret, webhookId: paypal.webhookId, orderIdFor: sandboxPaypalOrderId, merchantId: paypalPlatformMerchant(paypal) },
    card: { baseUrl: `${base}/card`, secretKey: card.secretKey, webhookSecret: card.webhookSecret, accountId: cardPlatformAccount(card) },
    ...extra,
  };
}
