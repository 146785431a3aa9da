import type { PaymentMethod } from '../domain/order.js';
import type { PaymentGateway } from '../domain/payment-gateway.js';
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
