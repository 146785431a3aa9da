import * as m000001 from './000001-spine.js';
import * as m000002 from './000002-sandbox-payments.js';
import * as m000003 from './000003-sandbox-carrier.js';
import * as m000004 from './000004-payments.js';
import * as m000005 from './000005-webhooks.js';
import * as m000006 from './000006-shipments.js';
import * as m000007 from './000007-webhook-leases.js';
import * as m000008 from './000008-sandbox-charge-keys.js';

/** Forward-only, numbered, applied in order. Never edit one that has shipped: add the next. */
export const migrations: ReadonlyArray<{ name: string; up: string }> = [
  { name: '000001-spine', up: m000001.up },
  { name: '000002-sandbox-payments', up: m000002.up },
  { name: '000003-sandbox-carrier', up: m000003.up },
  { name: '000004-payments', up: m000004.up },
  { name: '000005-webhooks', up: m000005.up },
  { name: '000006-shipments', up: m000006.up },
  { name: '000007-webhook-leases', up: m000007.up },
  { name: '000008-sandbox-charge-keys', up: m000008.up },
];
