import type { Config } from '../config.js';
import { PermanentError } from '../domain/errors.js';
import type { PaymentMethod } from '../domain/order.js';
import type { PaymentGateway } from '../domain/payment-gateway.js';
import { createAlipayGateway } from './alipay.gateway.js';
import { createCardGateway } from './card.gateway.js';
import { createPaypalGateway } from './paypal.gateway.js';
import { createWechatPayGateway } from './wechat-pay.gateway.js';

export type PaymentGateways = Record<PaymentMethod, PaymentGateway>;

/** Where providers that take a notify URL per request send their notifications, `{method}` replaced. */
export const notifyUrlTemplate = (config: Pick<Config, 'publicUrl'>) => `${config.publicUrl}/v1/payments/notify/{method}`;

/**
 * The real providers configured in the environment (SANDBOX=0). A method without credentials refuses every
 * call permanently, so its orders end `payment_failed` with a reason instead of retrying forever.
 */
export function configuredPaymentGateways(config: Pick<Config, 'providers' | 'paymentTimeoutMs' | 'publicUrl'>): PaymentGateways {
  const common = { timeoutMs: config.paymentTimeoutMs, notifyUrl: notifyUrlTemplate(config) };
  const p = config.providers;
  const notify = (m: PaymentMethod) => ({ timeoutMs: common.timeoutMs, notifyUrl: common.notifyUrl.replace('{method}', m) });
  return {
    alipay: p.alipay ? createAlipayGateway({ ...p.alipay, ...notify('alipay') }) : unconfigured('alipay'),
    wechat_pay: p.wechatPay ? createWechatPayGateway({ ...p.wechatPay, ...notify('wechat_pay') }) : unconfigured('wechat_pay'),
    paypal: p.paypal ? createPaypalGateway({ ...p.paypal, merchantId: p.paypalMerchantId, timeoutMs: common.timeoutMs }) : unconfigured('paypal'),
    card: p.card ? createCardGateway({ ...p.card, accountId: p.cardAccountId, returnUrl: p.cardReturnUrl, timeoutMs: common.timeoutMs }) : unconfigured('card'),
  };
}

function unconfigured(method: PaymentMethod): PaymentGateway {
  const refuse = async (): Promise<never> => {
    throw new PermanentError('provider_rejected', `payment method ${method} is not configured on this deployment`);
  };
  return { method, capture: refuse, lookup: refuse, close: refuse, refund: refuse, lookupRefund: refuse, inspectNotification: refuse, parseNotification: refuse };
}
