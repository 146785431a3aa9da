import type { PaymentMethod } from '../domain/order.js';
import type { PaymentGateway } from '../domain/payment-gateway.js';
import type { SandboxCredentials } from '../sandbox/sandbox-credentials.js';
import { createAlipayGateway, type AlipayGatewayOptions } from './alipay.gateway.js';
import { createCardGateway, type CardGatewayOptions } from './card.gateway.js';
import { createPaypalGateway, type PaypalGatewayOptions } from './paypal.gateway.js';
import { createWechatPayGateway, type WechatPayGatewayOptions } from './wechat-pay.gateway.js';

type Common = 'timeoutMs' | 'notifyUrl';

export interface PaymentGatewaysOptions {
  alipay: Omit<AlipayGatewayOptions, Common>;
  wechatPay: Omit<WechatPayGatewayOptions, Common>;
  paypal: Omit<PaypalGatewayOptions, Common>;
  card: Omit<CardGatewayOptions, Common>;
  /** Per provider call; the default is 10 s. */
  timeoutMs?: number;
  /**
   * Where providers that take a per-request notify URL (Alipay, WeChat Pay) send notifications, with
   * `{method}` replaced, e.g. `${publicUrl}/v1/payments/notify/{method}`. PayPal and Stripe register
   * webhooks per account, not per request.
   */
  notifyUrl?: string;
}

export function createPaymentGateways(options: PaymentGatewaysOptions): Record<PaymentMethod, PaymentGateway> {
  const common = (method: PaymentMethod) => ({
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    ...(options.notifyUrl ? { notifyUrl: options.notifyUrl.replace('{method}', method) } : {}),
  });
  return {
    alipay: createAlipayGateway({ ...options.alipay, ...common('alipay') }),
    wechat_pay: createWechatPayGateway({ ...options.wechatPay, ...common('wechat_pay') }),
    paypal: createPaypalGateway({ ...options.paypal, ...common('paypal') }),
    card: createCardGateway({ ...options.card, ...common('card') }),
  };
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
    paypal: { baseUrl: `${base}/paypal`, clientId: paypal.clientId, clientSecret: paypal.clientSecret, webhookId: paypal.webhookId, orderIdFor: sandboxPaypalOrderId },
    card: { baseUrl: `${base}/card`, secretKey: card.secretKey, webhookSecret: card.webhookSecret },
    ...extra,
  };
}
