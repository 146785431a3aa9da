import { generateKeyPair, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import type { Database } from '../db/database.js';

/**
 * The keys and secrets of the bundled sandbox payment provider. Generated once per database and stored there,
 * so that every web and worker process (the sandbox signs and verifies, the adapters sign and verify) agrees.
 * They protect nothing real: SANDBOX=1 moves no money.
 */
export interface SandboxCredentials {
  alipay: {
    appId: string;
    /** The merchant app's key pair: the app signs requests, the sandbox verifies them. */
    appPrivateKey: string;
    appPublicKey: string;
    /** "Alipay's" key pair: the sandbox signs answers and notifications, the adapter verifies them. */
    alipayPrivateKey: string;
    alipayPublicKey: string;
  };
  wechatPay: {
    mchid: string;
    appid: string;
    merchantSerial: string;
    merchantPrivateKey: string;
    merchantPublicKey: string;
    platformSerial: string;
    platformPrivateKey: string;
    platformPublicKey: string;
    /** 32 characters, used as the AES-256-GCM key of callback resources. */
    apiV3Key: string;
  };
  /** PayPal signs webhooks with its own certificate; the sandbox's verify-webhook-signature checks this pair. */
  paypal: { clientId: string; clientSecret: string; webhookId: string; webhookPrivateKey: string; webhookPublicKey: string };
  card: { secretKey: string; webhookSecret: string };
}

const rsaPair = async (): Promise<{ privateKey: string; publicKey: string }> =>
  promisify(generateKeyPair)('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });

const alnum = (n: number) => {
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  return Array.from(randomBytes(n), (b) => chars[b % chars.length]).join('');
};
const digits = (n: number) => Array.from(randomBytes(n), (b) => String(b % 10)).join('');

export async function generateSandboxCredentials(): Promise<SandboxCredentials> {
  const [app, alipay, merchant, platform, paypalWebhook] = await Promise.all([rsaPair(), rsaPair(), rsaPair(), rsaPair(), rsaPair()]);
  return {
    alipay: {
      appId: `2021${digits(12)}`,
      appPrivateKey: app.privateKey,
      appPublicKey: app.publicKey,
      alipayPrivateKey: alipay.privateKey,
      alipayPublicKey: alipay.publicKey,
    },
    wechatPay: {
      mchid: `19${digits(8)}`,
      appid: `wx${randomBytes(8).toString('hex')}`,
      merchantSerial: randomBytes(20).toString('hex').toUpperCase(),
      merchantPrivateKey: merchant.privateKey,
      merchantPublicKey: merchant.publicKey,
      platformSerial: `PUB_KEY_ID_${digits(20)}`,
      platformPrivateKey: platform.privateKey,
      platformPublicKey: platform.publicKey,
      apiV3Key: alnum(32),
    },
    paypal: {
      clientId: `sbx-${alnum(40)}`,
      clientSecret: alnum(48),
      webhookId: `WH-${alnum(17).toUpperCase()}`,
      webhookPrivateKey: paypalWebhook.privateKey,
      webhookPublicKey: paypalWebhook.publicKey,
    },
    card: { secretKey: `sk_test_${alnum(40)}`, webhookSecret: `whsec_${alnum(32)}` },
  };
}

/** The database's credentials, generated on first use; concurrent first callers all end with the same ones. */
export async function loadSandboxCredentials(db: Database): Promise<SandboxCredentials> {
  const existing = await db.rows<{ data: SandboxCredentials }>('SELECT data FROM sandbox_credentials WHERE id = 1');
  if (existing[0]) return existing[0].data;
  const fresh = await generateSandboxCredentials();
  await db.rows('INSERT INTO sandbox_credentials (id, data) VALUES (1, $1::jsonb) ON CONFLICT (id) DO NOTHING RETURNING id', [JSON.stringify(fresh)]);
  const [row] = await db.rows<{ data: SandboxCredentials }>('SELECT data FROM sandbox_credentials WHERE id = 1');
  if (!row) throw new Error('sandbox credentials could not be stored');
  return row.data;
}
