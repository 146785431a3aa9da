import { Router } from 'express';
import { receivePush, type PushDeps } from '../../domain/tracking-push.service.js';
import { notifyBody, type NotifyBodyLimits } from '../notify-body.js';

/**
 * `POST /v1/carriers/kuaidi100/notify`: Kuaidi100's push of a subscribed waybill's news. No shop credentials:
 * the push's own signature over the raw body is the authentication, so the body is read within the bounds of
 * `notifyBody` (anyone can call this route) and handed over byte for byte. 404 where push is not configured.
 */
export function carrierPushRouter(deps: PushDeps, limits: NotifyBodyLimits): Router {
  const r = Router();
  r.post('/kuaidi100/notify', notifyBody(limits), async (req, res) => {
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const { reply } = await receivePush(deps, 'kuaidi100', body);
    res.status(reply.status).type(reply.contentType).send(reply.body);
  });
  return r;
}
