import type { Request, RequestHandler, Response } from 'express';
import type { Logger } from '../../logger.js';
import type { PaymentMethod } from '../../domain/order.js';
import type { SandboxLedger } from './sandbox-ledger.js';
import type { SandboxTrade } from './sandbox-trade.js';
import { outboundRequest } from '../../outbound-http.js';

/** The plumbing every sandbox provider shares: raw bodies, held requests, injected faults, notifications. */

/** How long a request that "never answers" is held before its socket is dropped, so nothing leaks. */
export const HOLD_MAX_MS = 60_000;

/** The exact body bytes as text (signatures are over them); empty for a bodiless request. */
export const bodyText = (req: Request): string => (Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '');

/** Holds the request open until the client gives up, or drops it after HOLD_MAX_MS. */
export function hold(res: Response, maxMs = HOLD_MAX_MS): void {
  const timer = setTimeout(() => res.socket?.destroy(), maxMs);
  timer.unref();
  res.on('close', () => clearTimeout(timer));
}

/** Injected faults (POST /sandbox/faults) for this provider, answered before any real work. */
export function faultGate(ledger: SandboxLedger, method: PaymentMethod, unavailable: (res: Response, status: 500 | 429) => void): RequestHandler {
  return async (_req, res, next) => {
    const fault = await ledger.activeFault(method);
    if (fault === 'timeout') return hold(res);
    if (fault === 'rate_limit') {
      res.set('Retry-After', '1');
      return unavailable(res, 429);
    }
    if (fault === 'error500') return unavailable(res, 500);
    next();
  };
}

export interface OutgoingNotification {
  headers: Record<string, string>;
  body: string;
}

/**
 * Fire-and-forget delivery, as providers do it: a few hundred ms after the event, retried a couple of times
 * on failure. `build` runs per attempt so each carries a fresh timestamp and signature.
 */
export function sendNotification(url: string, build: () => OutgoingNotification, logger?: Logger, delaysMs = [300, 1_000, 3_000]): void {
  const send = async (i: number) => {
    try {
      const n = build();
      const res = await outboundRequest({ method: 'POST', url, headers: n.headers, body: n.body, timeoutMs: 5_000 });
      if (res.status >= 200 && res.status < 300) return;
      logger?.warn({ url, status: res.status, attempt: i + 1 }, 'sandbox notification refused');
    } catch (err) {
      logger?.warn({ err, url, attempt: i + 1 }, 'sandbox notification failed');
    }
    if (i + 1 < delaysMs.length) attempt(i + 1);
  };
  const attempt = (i: number) => setTimeout(() => void send(i), delaysMs[i]).unref();
  attempt(0);
}

/**
 * Where the sandbox is reached from outside (SANDBOX_BASE_URL), else as this request reached it: links the
 * providers hand out (QR content, approve links, 3-D Secure pages) must work in the buyer's browser.
 */
export function sandboxBaseOf(res: Response): string {
  const base = res.locals.sandboxBase;
  if (typeof base !== 'string') throw new Error('sandboxBaseOf: the payments router did not set res.locals.sandboxBase');
  return base;
}

export const checkoutUrl = (res: Response, checkoutRef: string) => `${sandboxBaseOf(res)}/checkout/${encodeURIComponent(checkoutRef)}`;

/** What a buyer did on the hosted checkout page, as its provider learns it. */
export type BuyerAct = 'paid' | 'approved' | 'declined';

/** The part of a provider the hosted checkout page needs. */
export interface ProviderCheckout {
  /** Shown on the page: "Alipay", "WeChat Pay"... */
  label: string;
  /** The provider's own word for the trade's state (trade_status, trade_state, order or intent status). */
  providerStatus(trade: SandboxTrade): string;
  /** Sends what the real provider sends after the buyer acted (nothing, where it sends nothing). */
  afterBuyer(act: BuyerAct, trade: SandboxTrade): void;
  /**
   * Where the buyer's browser goes afterwards, when the merchant gave a URL to return to: with the trade,
   * or (WeChat Pay H5) appended to the link it handed out, which arrives here as `redirectUrl`.
   */
  returnUrl(act: BuyerAct, trade: SandboxTrade, redirectUrl?: string): string | undefined;
}

/**
 * The problem type URIs the orderworks API answers with, for the sandbox's own problem+json (the checkout
 * endpoints): written out here so that the sandbox, which the web process mounts, does not import it back.
 */
export const problemType = (code: string) => `https://orderworks.dev/problems/${code.replaceAll('_', '-')}`;
