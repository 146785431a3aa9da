import { createPrivateKey, createPublicKey, createSign, createVerify, type KeyObject } from 'node:crypto';

/**
 * SHA256withRSA (Alipay's RSA2, WeChat Pay's WECHATPAY2-SHA256-RSA2048), base64 signatures. Keys are taken
 * as PEM, or as the bare base64 body the Alipay console hands out (PKCS#8 private, SPKI public).
 */

const wrap = (b64: string, label: string) =>
  `-----BEGIN ${label}-----\n${b64.replace(/\s+/g, '').replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END ${label}-----\n`;

export function privateKey(key: string | KeyObject): KeyObject {
  if (typeof key !== 'string') return key;
  return createPrivateKey(key.includes('-----BEGIN') ? key : wrap(key, 'PRIVATE KEY'));
}

export function publicKey(key: string | KeyObject): KeyObject {
  if (typeof key !== 'string') return key;
  return createPublicKey(key.includes('-----BEGIN') ? key : wrap(key, 'PUBLIC KEY'));
}

export function rsaSign(message: string, key: string | KeyObject): string {
  return createSign('RSA-SHA256').update(message, 'utf8').sign(privateKey(key), 'base64');
}

/** False for a wrong signature and for a malformed one alike: the caller only needs "trusted or not". */
export function rsaVerify(message: string, signature: string, key: string | KeyObject): boolean {
  try {
    return createVerify('RSA-SHA256').update(message, 'utf8').verify(publicKey(key), signature, 'base64');
  } catch {
    return false;
  }
}
