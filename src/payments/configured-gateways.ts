import type { Config } from '../config.js';
import type { Database } from '../db/database.js';
import { PermanentError } from '../domain/errors.js';
import type { PaymentMethod } from '../domain/order.js';
import type { PaymentGateway } from '../domain/payment-gateway.js';
import { loadSandboxCredentials } from '../sandbox/sandbox-credentials.js';
import { createAlipayGateway } from './alipay.gateway.js';
import { createCardGateway } from './card.gateway.js';
import { createPaymentGateways, sandboxPaymentGatewaysOptions } from './payment-gateways.js';
import { createPaypalGateway } from './paypal.gateway.js';
import { createWechatPayGateway } from './wechat-pay.gateway.js';

export type PaymentGateways = Record<PaymentMethod, PaymentGateway>;

/**
 * The gateways this deployment uses: the bundled sandbox (SANDBOX=1, keys shared through Postgres) or the
 * real providers configured in the environment. A method without credentials refuses every call
 * permanently, so its orders end `payment_failed` with a reason instead of retrying forever.
 */
export async function loadPaymentGateways(config: Config, db: Database): Promise<PaymentGateways> {
  const common = { timeoutMs: config.paymentTimeoutMs, notifyUrl: `${config.publicUrl}/v1/payments/notify/{method}` };
  if (config.sandbox) {
    return createPaymentGateways(sandboxPaymentGatewaysOptions(await loadSandboxCredentials(db), config.sandboxBaseUrl, common));
  }
  const p = config.providers;
  const notify = (m: PaymentMethod) => ({ timeoutMs: common.timeoutMs, notifyUrl: common.notifyUrl.replace('{method}', m) });
  return {
    alipay: p.alipay ? createAlipayGateway({ ...p.alipay, ...notify('alipay') }) : unconfigured('alipay'),
    wechat_pay: p.wechatPay ? createWechatPayGateway({ ...p.wechatPay, ...notify('wechat_pay') }) : unconfigured('wechat_pay'),
    paypal: p.paypal ? createPaypalGateway({ ...p.paypal, timeoutMs: common.timeoutMs }) : unconfigured('paypal'),
    card: p.card ? createCardGateway({ ...p.card, timeoutMs: common.timeoutMs }) : unconfigured('card'),
  };
}

function unconfigured(method: PaymentMethod): PaymentGateway {
  const refuse = async (): Promise<never> => {
    throw new PermanentError('provider_rejected', `payment method ${method} is not configured on this deployment`);
  };
  return { method, capture: refuse, lookup: refuse, refund: refuse, lookupRefund: refuse, parseNotification: refuse };
}
