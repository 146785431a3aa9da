import express, { type Express, type RequestHandler, type Router } from 'express';
import helmet from 'helmet';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { JobPublisher, OrderStore, ProductStore, ShopStore } from '../domain/ports.js';
import { createAuthThrottle, requireAdmin, requireOperator, requireShop } from './auth.js';
import { jsonBody } from './body.js';
import { errorHandler, notFoundHandler } from './problem.js';
import { adminRouter } from './routes/admin.routes.js';
import { adminOrdersRouter } from './routes/admin-orders.routes.js';
import type { OrderLookupDeps } from '../domain/order-lookup.service.js';
import { healthRouter, type ReadinessCheck } from './routes/health.routes.js';
import { ordersRouter } from './routes/orders.routes.js';
import { productsRouter } from './routes/products.routes.js';
import { BOARD_PATH } from './board.js';
import type { PaymentDeps } from '../domain/payment.service.js';
import { notifyRouter, orderPaymentsRouter } from './routes/payments.routes.js';
import { shipmentListRouter, shipmentsRouter } from './routes/shipments.routes.js';
import type { ShipmentCreationDeps } from '../domain/tracking.service.js';
import type { ReturnDeps } from '../domain/return.service.js';
import { orderReturnsRouter, returnsRouter } from './routes/returns.routes.js';
import type { Metrics } from '../metrics.js';
import type { WebhookStore } from '../webhooks/webhook-ports.js';
import type { WebhookJobs } from '../queue/webhook-publisher.js';
import { webhooksRouter } from './routes/webhooks.routes.js';
import { carrierPushRouter } from './routes/carrier-push.routes.js';
import type { PushDeps } from '../domain/tracking-push.service.js';
import { defineRequestLogger, requestLog } from './request-log.js';
import { openApiDocument } from './openapi.js';
import { rateLimitPerShop } from './rate-limit.js';

export interface AppDeps {
  config: Pick<Config, 'admin' | 'viewer' | 'metricsToken' | 'operatorAuthFailuresPerMinute' | 'bodyLimitBytes' | 'notify' | 'carrierPush' | 'shopRateLimitPerSecond'>;
  logger: Logger;
  metrics: Metrics;
  /** Extra routers mounted before the API (documentation). */
  extras?: Router[];
  /** `GET /metrics`, served behind operator credentials or METRICS_TOKEN. */
  metricsRouter?: (auth: RequestHandler) => Router;
  shops: ShopStore;
  products: ProductStore;
  orders: OrderStore;
  jobs: JobPublisher;
  /** Operators' lookup of any shop's orders and their jobs. */
  orderLookup: OrderLookupDeps;
  payment: PaymentDeps;
  tracking: ShipmentCreationDeps;
  returns: ReturnDeps;
  /** Carriers' pushes of tracking news (Kuaidi100 push); a carrier without a receiver answers 404. */
  trackingPush: PushDeps;
  webhooks: { store: WebhookStore; jobs: WebhookJobs };
  /** WEBHOOK_ALLOW_PRIVATE_NETWORKS: shops may register webhook URLs on private networks. */
  allowPrivateWebhooks: boolean;
  readiness: Record<string, ReadinessCheck>;
  /** Bull Board, mounted behind operator auth when given. */
  board?: Router;
  /** The bundled sandbox providers and carrier (SANDBOX=1), under /sandbox. */
  sandbox?: Router;
}

/** The web process's HTTP app: intake, shop API, admin API, dashboard, health. */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  app.use(helmet({ contentSecurityPolicy: false }));
  defineRequestLogger(app.request, deps.logger);
  app.use(requestLog(deps.logger, deps.metrics, Object.keys((openApiDocument() as { paths: Record<string, unknown> }).paths)));

  // One throttle for every operator route: guessing on one does not reset on another.
  const throttle = createAuthThrottle(deps.config.operatorAuthFailuresPerMinute);
  const admin = requireAdmin(deps.config.admin.user, deps.config.admin.password, throttle);
  const shop = [requireShop(deps.shops), rateLimitPerShop(deps.config.shopRateLimitPerSecond)];
  const body = jsonBody(deps.config.bodyLimitBytes);

  // The intake and the providers' notifications come first: every layer before a route is a path match (and a
  // router mounted without a path is entered and walked) on each request, and these two carry every order.
  // None of the routes below overlaps them, so the order changes no answer.
  app.use('/v1/payments', notifyRouter(deps.payment, deps.config.notify));
  // One mount for the routes under /v1/orders: a request that is not the first router's passes on to the next
  // within it, without authenticating and reading its body again.
  app.use(
    '/v1/orders',
    shop,
    body,
    ordersRouter({ orders: deps.orders, jobs: deps.jobs }),
    orderPaymentsRouter({ ...deps.payment, orders: deps.orders }),
    shipmentsRouter(deps.tracking),
    orderReturnsRouter(deps.returns),
  );
  app.use(healthRouter(deps.readiness));
  if (deps.metricsRouter) {
    const { admin: a, viewer, metricsToken } = deps.config;
    app.use(deps.metricsRouter(requireOperator({ admin: a, viewer, metricsToken }, throttle, ['admin', 'viewer', 'metrics'])));
  }
  for (const extra of deps.extras ?? []) app.use(extra);
  if (deps.board) app.use(BOARD_PATH, requireOperator({ admin: deps.config.admin, viewer: deps.config.viewer }, throttle), deps.board);
  app.use('/v1/admin', admin, body, adminRouter(deps.shops, deps.allowPrivateWebhooks));
  app.use('/v1/admin', admin, adminOrdersRouter(deps.orderLookup));
  app.use('/v1/products', shop, body, productsRouter(deps.products));
  app.use('/v1/shipments', shop, shipmentListRouter(deps.tracking));
  app.use('/v1/returns', shop, body, returnsRouter(deps.returns));
  app.use('/v1/carriers', carrierPushRouter(deps.trackingPush, deps.config.carrierPush));
  app.use('/v1', shop, body, webhooksRouter(deps.webhooks));
  if (deps.sandbox) app.use('/sandbox', deps.sandbox);
  app.use(notFoundHandler);
  app.use(errorHandler(deps.logger));
  return app;
}
