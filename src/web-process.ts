import { createServer, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Express } from 'express';
import { loadCarrierClients, loadPushReceivers, serviceLevelHours, unconfiguredCarriers } from './carriers/configured-carriers.js';
import { createOrderLookupRepository } from './db/order-lookup.repository.js';
import { boardRouter } from './http/board.js';
import { metricsRouter } from './http/metrics.routes.js';
import { openApiRouter } from './http/openapi.js';
import { docsRouter } from './http/docs.routes.js';
import { problemType } from './http/problem.js';
import { createApp } from './http/server.js';
import { listenOn } from './http/listen.js';
import { createOrderJobInspector } from './queue/order-jobs.js';
import { warnOnUnsafeRedis } from './queue/redis.js';
import type { PaymentGateways } from './payments/configured-gateways.js';
import { createApplication, loadPaymentGateways, type Infrastructure } from './runtime.js';
import { sandboxRouter } from './sandbox/sandbox.router.js';

/**
 * Requests Node's HTTP parser refuses before Express sees them (control characters in a header, raw
 * non-ASCII in the path, oversized headers) still get a problem+json answer, not a bare 400.
 */
function answerMalformedHttp(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || !socket.writable) return void socket.destroy();
  const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
  const title = status === 431 ? 'Request Header Fields Too Large' : 'Bad Request';
  const body = JSON.stringify({ type: problemType('malformed_http'), title, status, detail: 'the request is not well-formed HTTP' });
  socket.end(
    `HTTP/1.1 ${status} ${title}\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
      `X-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n${body}`,
  );
}

/** How long in-flight requests get to finish when the web process stops. */
const CLOSE_GRACE_MS = 8_000;

/**
 * Builds the web process from its infrastructure: the composition root of `web`. `gateways` replaces some of
 * the configured payment gateways (a test points one provider at a stand-in server).
 */
export async function createWebProcess(
  infra: Infrastructure,
  options: { gateways?: Partial<PaymentGateways> } = {},
): Promise<{ app: Express; server: Server; listen(): Promise<number>; close(): Promise<void> }> {
  const { config, logger, db, redis, shards, metrics } = infra;
  const { stores, jobs } = createApplication(infra);
  const carrierClients = loadCarrierClients(config);
  // What creating a parcel needs, an order's or a return's.
  const parcels = {
    jobs: jobs.tracking,
    serviceLevelHours: serviceLevelHours(carrierClients),
    unconfigured: unconfiguredCarriers(carrierClients),
  };
  const app = createApp({
    config,
    logger,
    metrics,
    metricsRouter: (auth) => metricsRouter(metrics, shards, db, auth),
    extras: [openApiRouter(), docsRouter()],
    ...stores,
    jobs: jobs.orders,
    orderLookup: { lookup: createOrderLookupRepository(db), orders: stores.orders, jobs: createOrderJobInspector(shards) },
    payment: { payments: stores.payments, gateways: { ...(await loadPaymentGateways(config, db, metrics)), ...options.gateways }, jobs: jobs.payments, holdExpiresMs: config.holdExpiresMs },
    tracking: {
      shipments: stores.shipments,
      ...parcels,
      limits: { perOrder: config.limits.shipmentsPerOrder, openPerShop: config.limits.openShipmentsPerShop },
    },
    returns: {
      returns: stores.returns,
      refunds: jobs.payments,
      ...parcels,
      limits: { perOrder: config.limits.returnsPerOrder, openParcelsPerShop: config.limits.openShipmentsPerShop },
    },
    trackingPush: {
      shipments: stores.shipments, jobs: jobs.tracking, carriers: carrierClients, refreshEveryMs: config.trackingRefreshEveryMs, receivers: loadPushReceivers(config),
    },
    webhooks: { store: stores.webhooks, jobs: jobs.webhooks },
    allowPrivateWebhooks: config.webhookAllowPrivateNetworks,
    readiness: { postgres: () => db.ping(), redis: () => redis.ping() },
    board: boardRouter(shards),
    ...(config.sandbox ? { sandbox: await sandboxRouter({ db, logger, publicUrl: config.publicUrl, baseUrl: config.sandboxBaseUrl }) } : {}),
  });
  await warnOnUnsafeRedis(redis, logger);
  const server = createServer(app);
  server.keepAliveTimeout = 65_000;
  server.on('clientError', answerMalformedHttp);
  return {
    app,
    server,
    listen: () => listenOn(server, config.port),
    // Stops accepting, lets in-flight requests finish, and closes keep-alive connections as they fall idle
    // (a client's pooled socket would otherwise hold the server open); past the grace period, closes all.
    close: () =>
      new Promise<void>((resolve) => {
        const sweep = setInterval(() => server.closeIdleConnections(), 50);
        const force = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS);
        server.close(() => {
          clearInterval(sweep);
          clearTimeout(force);
          resolve();
        });
        server.closeIdleConnections();
      }),
  };
}
