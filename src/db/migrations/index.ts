import * as m000001 from './000001-spine.js';
import * as m000004 from './000004-payments.js';
import * as m000005 from './000005-webhooks.js';
import * as m000006 from './000006-shipments.js';
import * as m000007 from './000007-webhook-leases.js';
import * as m000009 from './000009-status-checks.js';
import * as m000010 from './000010-wallet-checkouts.js';
import * as m000011 from './000011-shipment-delays.js';
import * as m000012 from './000012-returns.js';
import * as m000013 from './000013-tracking-push.js';
import * as m000014 from './000014-fair-tracking.js';
import * as m000015 from './000015-shop-keys.js';
import * as m000016 from './000016-push-renewal.js';
import * as m000017 from './000017-ended-tracking.js';
import * as m000018 from './000018-newest-carrier-event.js';

export interface Migration {
  name: string;
  up: string;
}

/**
 * Forward-only, numbered, applied in order. Never edit one that has shipped: add the next. The sandbox's
 * tables (numbers 000002, 000003 and 000008 once lived here) are a set of their own, applied only where the
 * sandbox runs: src/sandbox/migrations.
 */
export const migrations: readonly Migration[] = [
  { name: '000001-spine', up: m000001.up },
  { name: '000004-payments', up: m000004.up },
  { name: '000005-webhooks', up: m000005.up },
  { name: '000006-shipments', up: m000006.up },
  { name: '000007-webhook-leases', up: m000007.up },
  { name: '000009-status-checks', up: m000009.up },
  { name: '000010-wallet-checkouts', up: m000010.up },
  { name: '000011-shipment-delays', up: m000011.up },
  { name: '000012-returns', up: m000012.up },
  { name: '000013-tracking-push', up: m000013.up },
  { name: '000014-fair-tracking', up: m000014.up },
  { name: '000015-shop-keys', up: m000015.up },
  { name: '000016-push-renewal', up: m000016.up },
  { name: '000017-ended-tracking', up: m000017.up },
  { name: '000018-newest-carrier-event', up: m000018.up },
];
