import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { Router } from 'express';
import type { Queues } from '../queue/queues.js';

export const BOARD_PATH = '/admin/queues';

/**
 * Bull Board over every queue: a full board for admins and a read-only one (no retry, remove, pause...)
 * for viewers, picked by the role `requireOperator` put in `res.locals.role`.
 */
export function boardRouter(queues: Queues): Router {
  const board = (readOnlyMode: boolean) => {
    const serverAdapter = new ExpressAdapter();
    serverAdapter.setBasePath(BOARD_PATH);
    createBullBoard({
      queues: Object.values(queues).map((q) => new BullMQAdapter(q, { readOnlyMode })),
      serverAdapter,
      options: { uiConfig: { boardTitle: readOnlyMode ? 'orderworks (read-only)' : 'orderworks' } },
    });
    const app = serverAdapter.getRouter() as Router & { disable?: (setting: string) => void };
    app.disable?.('x-powered-by'); // the board is an express app of its own
    return app as Router;
  };
  const full = board(false);
  const readOnly = board(true);
  const router = Router();
  router.use((req, res, next) => (res.locals.role === 'admin' ? full : readOnly)(req, res, next));
  return router;
}
