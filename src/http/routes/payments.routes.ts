import { Router, type RequestHandler } from 'express';
import { z } from 'zod';
import { DomainError } from '../../domain/errors.js';
import { getOrder } from '../../domain/order.service.js';
import { paymentInputSchema, text } from '../../domain/order-input.js';
import { PAYMENT_METHODS } from '../../domain/order.js';
import type { OrderStore } from '../../domain/ports.js';
import { cancelOrder, requestRefund, type PaymentDeps } from '../../domain/payment.service.js';
import { handleNotification } from '../../domain/payment-notification.service.js';
import { switchPayment } from '../../domain/payment-switch.service.js';
import type { RefundView } from '../../domain/payment-ports.js';
import { notifyBody, type NotifyBodyLimits } from '../notify-body.js';
import { HttpProblem } from '../problem.js';
import { keyedRequest } from '../keyed-request.js';
import { shopOf } from '../auth.js';
import { sendText } from '../answer.js';
import { orderView } from '../views.js';

const refundInput = z.strictObject({
  amountMinor: z.number().int('must be whole minor units').positive('must be more than 0').max(Number.MAX_SAFE_INTEGER),
  reason: text(500).optional(),
});

const refundView = (r: RefundView) => ({ ...r, createdAt: r.createdAt.toISOString() });

/** Cancel, refunds and a buyer's switch of payment method, under /v1/orders/{id}: shop-authenticated. */
export function orderPaymentsRouter(deps: PaymentDeps & { orders: OrderStore }): Router {
  const r = Router();
  r.post('/:id/cancel', async (req, res) => {
    const shopId = shopOf(req).id;
    await cancelOrder(deps, shopId, req.params.id);
    res.status(202).json(orderView(await getOrder(deps.orders, shopId, req.params.id)));
  });

  r.post('/:id/refunds', async (req, res) => {
    const { key, body } = keyedRequest(req, refundInput, 'refund');
    const refund = await requestRefund(deps, shopOf(req).id, req.params.id, key, body);
    res.status(202).json(refundView(refund));
  });

  r.post('/:id/payment', async (req, res) => {
    const { key, body } = keyedRequest(req, paymentInputSchema, 'payment');
    const shopId = shopOf(req).id;
    await switchPayment(deps, shopId, req.params.id, key, body);
    res.status(202).json(orderView(await getOrder(deps.orders, shopId, req.params.id)));
  });
  return r;
}

const methodParam = z.enum(PAYMENT_METHODS);

/**
 * `POST /v1/payments/notify/{method}`: providers' notifications. No shop credentials: the provider's own
 * signature over the raw body is the authentication, so the body reaches the gateway byte for byte, read
 * within the bounds of `notifyBody` (anyone can call this route). The method comes from the route: a
 * notification is only ever checked against that method's provider and orders.
 */
export function notifyRouter(deps: PaymentDeps, limits: NotifyBodyLimits): Router {
  const r = Router();
  const known: RequestHandler = (req, _res, next) =>
    next(methodParam.safeParse(req.params.method).success ? undefined : new HttpProblem(404, 'not_found', `no payment method ${req.params.method}`));
  r.post('/notify/:method', known, notifyBody(limits), async (req, res) => {
    const method = methodParam.parse(req.params.method);
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    try {
      const reply = await handleNotification(deps, method, { headers: req.headers, body });
      sendText(res, reply.status, reply.contentType, reply.body);
    } catch (error) {
      if (error instanceof DomainError && error.code === 'provider_rejected') {
        throw new HttpProblem(400, 'notification_rejected', error.message);
      }
      throw error;
    }
  });
  return r;
}
