import { createCipheriv, createDecipheriv, randomBytes, type KeyObject } from 'node:crypto';
import { rsaSign, rsaVerify } from './rsa.js';

/**
 * WeChat Pay API v3 signing (docs/providers.md section 2), shared by the adapter and the sandbox.
 * Requests: `METHOD\n/path?query\n<unix s>\n<nonce>\n<body>\n`, SHA256withRSA with the merchant key.
 * Responses and callbacks: `<ts>\n<nonce>\n<body>\n` with the platform key, in `Wechatpay-*` headers.
 */

export const WECHAT_AUTH_SCHEMA = 'WECHATPAY2-SHA256-RSA2048';
/** The Go SDK's bound: a signed answer older or newer than this is refused (a replay or a wrong clock). */
export const WECHAT_MAX_SKEW_SECONDS = 300;

export const wechatRequestMessage = (method: string, pathAndQuery: string, timestamp: string, nonce: string, body: string) =>
  `${method}\n${pathAndQuery}\n${timestamp}\n${nonce}\n${body}\n`;

export const wechatResponseMessage = (timestamp: string, nonce: string, body: string) => `${timestamp}\n${nonce}\n${body}\n`;

export const wechatNonce = () => randomBytes(16).toString('hex').toUpperCase();

export interface WechatAuthorization {
  mchid: string;
  nonce_str: string;
  timestamp: string;
  serial_no: string;
  signature: string;
}

export function buildWechatAuthorization(input: {
  mchid: string;
  serialNo: string;
  privateKey: string | KeyObject;
  method: string;
  pathAndQuery: string;
  body: string;
  timestamp?: string;
  nonce?: string;
}): string {
  const timestamp = input.timestamp ?? String(Math.floor(Date.now() / 1000));
  const nonce = input.nonce ?? wechatNonce();
  const signature = rsaSign(wechatRequestMessage(input.method, input.pathAndQuery, timestamp, nonce, input.body), input.privateKey);
  return `${WECHAT_AUTH_SCHEMA} mchid="${input.mchid}",nonce_str="${nonce}",timestamp="${timestamp}",serial_no="${input.serialNo}",signature="${signature}"`;
}

/** The fields of an Authorization header, in any order; undefined when the schema or a field is missing. */
export function parseWechatAuthorization(header: string | undefined): WechatAuthorization | undefined {
  if (!header?.startsWith(`${WECHAT_AUTH_SCHEMA} `)) return undefined;
  const fields: Record<string, string> = {};
  for (const m of header.slice(WECHAT_AUTH_SCHEMA.length + 1).matchAll(/(\w+)="([^"]*)"/g)) fields[m[1]!] = m[2]!;
  const { mchid, nonce_str, timestamp, serial_no, signature } = fields;
  if (!mchid || !nonce_str || !timestamp || !serial_no || !signature) return undefined;
  return { mchid, nonce_str, timestamp, serial_no, signature };
}

/** The `Wechatpay-*` headers of a signed answer or callback. */
export function signWechatMessage(body: string, key: string | KeyObject, serial: string, at = Date.now()): Record<string, string> {
  const timestamp = String(Math.floor(at / 1000));
  const nonce = wechatNonce();
  return {
    'Wechatpay-Timestamp': timestamp,
    'Wechatpay-Nonce': nonce,
    'Wechatpay-Serial': serial,
    'Wechatpay-Signature': rsaSign(wechatResponseMessage(timestamp, nonce, body), key),
    'Wechatpay-Signature-Type': WECHAT_AUTH_SCHEMA,
  };
}

/**
 * True when the platform key signed `body` at a time within the allowed skew (and, if given, under `serial`).
 * `now` is the clock that judges the skew.
 */
export function verifyWechatMessage(
  get: (name: string) => string | undefined,
  body: string,
  key: string | KeyObject,
  options: { serial?: string | undefined; now?: number | undefined } = {},
): boolean {
  const timestamp = get('wechatpay-timestamp');
  const nonce = get('wechatpay-nonce');
  const signature = get('wechatpay-signature');
  if (!timestamp || !nonce || !signature || !/^\d+$/.test(timestamp)) return false;
  const type = get('wechatpay-signature-type');
  if (type !== undefined && type !== WECHAT_AUTH_SCHEMA) return false;
  if (options.serial && get('wechatpay-serial') !== options.serial) return false;
  const skew = Math.abs((options.now ?? Date.now()) / 1000 - Number(timestamp));
  return skew < WECHAT_MAX_SKEW_SECONDS && rsaVerify(wechatResponseMessage(timestamp, nonce, body), signature, key);
}

export const WECHAT_RESOURCE_ALGORITHM = 'AEAD_AES_256_GCM';

export interface WechatResource {
  original_type: string;
  algorithm: typeof WECHAT_RESOURCE_ALGORITHM;
  ciphertext: string;
  nonce: string;
  associated_data: string;
}

/**
 * AES-GCM under the APIv3 key. Real APIv3 keys are 32 bytes (AES-256, as the algorithm's name says); the cipher
 * follows the key's length as the official SDKs' does (Go's aes.NewCipher), so a 16-byte test key works too.
 */
function aesGcm(apiV3Key: string): 'aes-128-gcm' | 'aes-192-gcm' | 'aes-256-gcm' {
  const bits = Buffer.byteLength(apiV3Key, 'utf8') * 8;
  if (bits !== 128 && bits !== 192 && bits !== 256) throw new Error('the APIv3 key must be 16, 24 or 32 bytes');
  return `aes-${bits}-gcm`;
}

/** GCM with the APIv3 key; `ciphertext` is base64(cipher || 16-byte tag), `nonce` 12 characters. */
export function encryptWechatResource(plaintext: string, apiV3Key: string, originalType: string, associatedData = 'transaction'): WechatResource {
  const nonce = randomBytes(6).toString('hex');
  const cipher = createCipheriv(aesGcm(apiV3Key), Buffer.from(apiV3Key, 'utf8'), Buffer.from(nonce, 'utf8'));
  cipher.setAAD(Buffer.from(associatedData, 'utf8'));
  const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return { original_type: originalType, algorithm: WECHAT_RESOURCE_ALGORITHM, ciphertext: ct.toString('base64'), nonce, associated_data: associatedData };
}

/** Throws when the key, nonce, associated data or ciphertext is wrong (GCM authenticates all of them). */
export function decryptWechatResource(resource: Pick<WechatResource, 'ciphertext' | 'nonce' | 'associated_data'>, apiV3Key: string): string {
  const data = Buffer.from(resource.ciphertext, 'base64');
  if (data.length < 17) throw new Error('ciphertext too short');
  const iv = Buffer.from(resource.nonce, 'utf8');
  if (iv.length !== 12) throw new Error('the nonce must be 12 bytes');
  const decipher = createDecipheriv(aesGcm(apiV3Key), Buffer.from(apiV3Key, 'utf8'), iv, { authTagLength: 16 });
  decipher.setAAD(Buffer.from(resource.associated_data ?? '', 'utf8'));
  decipher.setAuthTag(data.subarray(data.length - 16));
  return Buffer.concat([decipher.update(data.subarray(0, data.length - 16)), decipher.final()]).toString('utf8');
}
