import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Queue } from 'bullmq';
import { Router, type RequestHandler } from 'express';
import { JOB_DEFINITIONS } from '../../jobs/index.js';
import type { QueueShards } from '../queue/queues.js';
import { problemType, sendProblem } from './problem.js';

export const BOARD_PATH = '/admin/queues';

const DESCRIPTIONS: Readonly<Record<string, string>> = Object.fromEntries(JOB_DEFINITIONS.map((d) => [d.queue, d.description]));

/**
 * Bull Board over every queue, each with its description (what FAILED means there, whether a retry helps): a
 * full board for admins and a read-only one (no retry, remove, pause...) for viewers, picked by the role
 * `requireOperator` put in `res.locals.role`. With QUEUE_SHARDS over 1, shard 0's queues keep their names and
 * shard n's show as `shard-n.order-placement`... (the board groups them by shard).
 */
export function boardRouter(shards: QueueShards): Router {
  const sharded = shards.all.length > 1;
  const adapter = (shard: number, q: Queue, readOnlyMode: boolean) =>
    new BullMQAdapter(q, {
      readOnlyMode,
      description: DESCRIPTIONS[q.name] ?? '',
      ...(sharded ? { delimiter: '.', ...(shard > 0 ? { prefix: `shard-${shard}.`, displayName: `${q.name} (shard ${shard})` } : {}) } : {}),
    });
  const board = (readOnlyMode: boolean) => {
    const serverAdapter = new ExpressAdapter();
    serverAdapter.setBasePath(BOARD_PATH);
    createBullBoard({
      queues: shards.list().map(({ shard, queue }) => adapter(shard, queue, readOnlyMode)),
      serverAdapter,
      options: { uiConfig: { boardTitle: readOnlyMode ? 'orderworks (read-only)' : 'orderworks' } },
    });
    const app = serverAdapter.getRouter() as Router & BoardApp;
    app.disable?.('x-powered-by'); // the board is an express app of its own
    withoutRemoteFonts(app);
    return app as Router;
  };
  const full = board(false);
  const readOnly = board(true);
  const router = Router();
  router.use(jsonWritesOnly);
  router.use((req, res, next) => (res.locals.role === 'admin' ? full : readOnly)(req, res, next));
  return router;
}

type Render = (path: string, options: object, cb: (err: Error | null, html?: string) => void) => void;
interface BoardApp {
  disable?: (setting: string) => void;
  engines?: Record<string, Render>;
  engine?: (ext: string, fn: Render) => void;
}

/**
 * The board's page links a font stylesheet on a public CDN: offline it hangs, online it tells a third party who
 * opens the dashboard. The page is rendered without it (system fonts).
 */
function withoutRemoteFonts(app: BoardApp) {
  const render = app.engines?.['.ejs'];
  if (!render || !app.engine) return;
  app.engine('ejs', (path, options, cb) =>
    render(path, options, (err, html) => cb(err, html?.replace(/<link[^>]+fonts\.(googleapis|gstatic)\.com[^>]*>/g, ''))),
  );
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * The board's write routes take JSON only. A cross-site HTML form can POST `text/plain` or form bodies with an
 * operator's cached Basic credentials, but cannot send `application/json` without a CORS preflight, which the
 * board never grants.
 */
const jsonWritesOnly: RequestHandler = (req, res, next) => {
  if (SAFE_METHODS.has(req.method)) return next();
  const type = req.get('content-type');
  const hasBody = Number(req.get('content-length') ?? 0) > 0 || req.get('transfer-encoding') !== undefined;
  if (type ? !req.is('application/json') : hasBody) {
    return sendProblem(res, { status: 415, type: problemType('unsupported_media_type'), detail: 'dashboard actions take application/json only' });
  }
  next();
};
