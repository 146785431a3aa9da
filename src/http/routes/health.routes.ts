import { Router } from 'express';
import { sendProblem, problemType } from '../problem.js';
import { withTimeout } from '../../timeout.js';

export type ReadinessCheck = () => Promise<unknown>;

/** `/healthz`: the process lives. `/readyz`: every dependency answers within a second. */
export function healthRouter(checks: Record<string, ReadinessCheck>): Router {
  const r = Router();
  r.get('/healthz', (_req, res) => void res.json({ status: 'ok' }));
  r.get('/readyz', async (_req, res) => {
    const results = await Promise.all(
      Object.entries(checks).map(async ([name, check]) => [name, await withTimeout(check(), 1_000).then(() => 'up', () => 'down')] as const),
    );
    const down = results.filter(([, s]) => s === 'down').map(([n]) => n);
    if (down.length === 0) return void res.json({ status: 'ready', checks: Object.fromEntries(results) });
    sendProblem(res, { status: 503, type: problemType('dependency_unavailable'), detail: `not ready: ${down.join(', ')} down` }, { 'Retry-After': '5' });
  });
  return r;
}
