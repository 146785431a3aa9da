import express, { Router, type Response } from 'express';
import { z } from 'zod';
import type { Database } from '../../db/database.js';
import { problemType, sendProblem, zodIssues } from '../../http/problem.js';
import { SandboxCarrierStore, FAULT_MODES, type ActiveFault } from './sandbox-carrier.store.js';
import { isSandboxTrackingNumber, sandboxTrackingBody } from './sandbox-parcel.js';

/** The longest a `timeout` fault holds a request: past any client's timeout, short of tying up the server. */
const MAX_HOLD_MS = 60_000;

const TrackBody = z.object({ trackingNumber: z.string().min(1).max(64) });
const FaultBody = z.object({
  mode: z.enum(FAULT_MODES),
  forMs: z.number().int().min(1).max(3_600_000).default(60_000),
});

/**
 * The sandbox carrier (docs/api.md section 7), mounted by the web process at `/sandbox` when SANDBOX=1:
 * - `POST /carrier/track {trackingNumber}`: one tracking query; each moves an `SBX-...` parcel one step on.
 * - `GET /carrier/parcels/:trackingNumber`: the same answer without moving the parcel.
 * - `POST /carrier/faults {mode, forMs}` / `GET /carrier/faults`: a carrier-wide fault for chaos tests.
 */
export function sandboxCarrierRouter({ db }: { db: Database }): Router {
  const store = new SandboxCarrierStore(db);
  const r = Router();
  r.use('/carrier', express.json({ limit: '8kb' }));

  r.post('/carrier/track', async (req, res) => {
    const body = TrackBody.safeParse(req.body ?? {});
    if (!body.success) return invalid(res, body.error);
    const fault = await store.activeFault(new Date());
    if (fault) return applyFault(res, fault);
    const { trackingNumber } = body.data;
    if (!isSandboxTrackingNumber(trackingNumber)) return unknownParcel(res, trackingNumber);
    const events = await store.refresh(trackingNumber, new Date());
    res.json(sandboxTrackingBody(trackingNumber, events));
  });

  r.get('/carrier/parcels/:trackingNumber', async (req, res) => {
    const { trackingNumber } = req.params;
    const events = isSandboxTrackingNumber(trackingNumber) ? await store.peek(trackingNumber) : null;
    if (!events) return unknownParcel(res, trackingNumber);
    res.json(sandboxTrackingBody(trackingNumber, events));
  });

  r.post('/carrier/faults', async (req, res) => {
    const body = FaultBody.safeParse(req.body ?? {});
    if (!body.success) return invalid(res, body.error);
    const until = new Date(Date.now() + body.data.forMs);
    await store.setFault(body.data.mode, until);
    res.json({ mode: body.data.mode, until: body.data.mode === 'none' ? null : until.toISOString() });
  });

  r.get('/carrier/faults', async (_req, res) => {
    const fault = await store.activeFault(new Date());
    res.json(fault ? { mode: fault.mode, until: fault.until.toISOString() } : { mode: 'none', until: null });
  });

  return r;
}

function applyFault(res: Response, fault: ActiveFault): void {
  const remainingMs = Math.max(0, fault.until.getTime() - Date.now());
  if (fault.mode === 'rate_limit') {
    const retryAfter = String(Math.max(1, Math.ceil(remainingMs / 1000)));
    return sendProblem(res, { status: 429, type: problemType('rate_limited'), detail: 'sandbox carrier: too many requests' }, { 'Retry-After': retryAfter });
  }
  if (fault.mode === 'error500') {
    return sendProblem(res, { status: 500, type: problemType('internal_error'), detail: 'sandbox carrier: injected server error' });
  }
  // `timeout`: say nothing until the fault ends (or the client gives up), then answer as a gateway would.
  const timer = setTimeout(() => {
    if (!res.writableEnded) sendProblem(res, { status: 504, type: problemType('carrier_unavailable'), detail: 'sandbox carrier: injected timeout' });
  }, Math.min(remainingMs, MAX_HOLD_MS));
  res.on('close', () => clearTimeout(timer));
}

function invalid(res: Response, error: z.ZodError): void {
  sendProblem(res, { status: 400, type: problemType('validation_failed'), detail: 'the request is invalid', errors: zodIssues(error) });
}

function unknownParcel(res: Response, trackingNumber: string): void {
  sendProblem(res, { status: 404, type: problemType('not_found'), detail: `sandbox carrier: no parcel ${trackingNumber}; numbers look like SBX-...` });
}
