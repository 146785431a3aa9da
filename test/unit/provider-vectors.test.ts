import { describe, expect, it } from 'vitest';
import vectors from '../fixtures/provider-vectors/vectors.json' with { type: 'json' };
import { DomainError } from '../../src/domain/errors.js';
import type { RawNotification } from '../../src/domain/payment-gateway.js';
import { createAlipayGateway } from '../../src/payments/alipay.gateway.js';
import { verifyAlipayNotification, verifyAlipayResponse } from '../../src/payments/alipay.signing.js';
import { createWechatPayGateway } from '../../src/payments/wechat-pay.gateway.js';
import { decryptWechatResource, verifyWechatMessage, type WechatResource } from '../../src/payments/wechat-pay.signing.js';

/**
 * Signed messages the providers published in their own SDKs' tests (test/fixtures/provider-vectors, each with
 * its source), run through the verification code the adapters and the notify route use. Each is accepted as
 * it is and refused once any one character of what was signed changes.
 */

/** `s` with the character at `i` replaced by another one (a digit by another digit). */
const flip = (s: string, i: number) => {
  const c = s[i]!;
  const other = /\d/.test(c) ? String((Number(c) + 1) % 10) : c === 'A' ? 'B' : 'A';
  return `${s.slice(0, i)}${other}${s.slice(i + 1)}`;
};

const refusal = async (p: Promise<unknown>) => {
  try {
    await p;
  } catch (error) {
    return error instanceof DomainError ? error.code : String(error);
  }
  return 'accepted';
};

describe('Alipay gateway answer (alipay-sdk-nodejs-all)', () => {
  const v = vectors.alipay_response;

  it('verifies over the raw text of the response node, as received', () => {
    expect(verifyAlipayResponse(v.rawBody, v.method, v.alipayPublicKeyPem)).toEqual({
      key: 'alipay_open_file_upload_response', node: v.signedNode, signature: 'valid',
    });
  });

  it('refuses the answer once any character of the node changes', () => {
    const start = v.rawBody.indexOf(v.signedNode);
    const accepted: number[] = [];
    for (let i = start; i < start + v.signedNode.length; i++) {
      if (verifyAlipayResponse(flip(v.rawBody, i), v.method, v.alipayPublicKeyPem)?.signature === 'valid') accepted.push(i);
    }
    expect(accepted).toEqual([]);
  });

  it('refuses the node re-serialised, even with the same values', () => {
    const spaced = v.rawBody.replace(v.signedNode, JSON.stringify(JSON.parse(v.signedNode), null, 1));
    expect(verifyAlipayResponse(spaced, v.method, v.alipayPublicKeyPem)?.signature).toBe('invalid');
  });

  it('finds the node wherever sign and alipay_cert_sn stand beside it', () => {
    const sign = (JSON.parse(v.rawBody) as { sign: string }).sign;
    const key = 'alipay_open_file_upload_response';
    for (const raw of [
      `{"sign":"${sign}","${key}":${v.signedNode}}`,
      `{"${key}":${v.signedNode},"alipay_cert_sn":"4498aaa8ab0c8986c15c41b36186db7d","sign":"${sign}"}`,
      ` { "${key}" : ${v.signedNode} ,\n "sign" : "${sign}" } `,
    ]) {
      expect(verifyAlipayResponse(raw, v.method, v.alipayPublicKeyPem)?.signature, raw).toBe('valid');
    }
    // A node given twice could be verified in one copy and read in the other: refused outright.
    expect(verifyAlipayResponse(`{"${key}":${v.signedNode},"${key}":{"code":"10000"},"sign":"${sign}"}`, v.method, v.alipayPublicKeyPem)).toBeUndefined();
  });

  it('tells an unsigned answer from a wrongly signed one', () => {
    expect(verifyAlipayResponse(`{"alipay_open_file_upload_response":${v.signedNode}}`, v.method, v.alipayPublicKeyPem)?.signature).toBe('absent');
    const other = vectors.alipay_notify_signed_with_sign_type.alipayPublicKeyPem;
    expect(verifyAlipayResponse(v.rawBody, v.method, other)?.signature).toBe('invalid');
  });
});

describe('Alipay notifications (alipay-sdk-nodejs-all)', () => {
  const trade = vectors.alipay_notify_trade_status_sync;
  const market = vectors.alipay_notify_signed_with_sign_type;
  const form = (fields: Record<string, string>): RawNotification => ({
    headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
    body: Buffer.from(new URLSearchParams(fields).toString()),
  });
  /** Beijing wall-clock time as an instant, so a replayed notification is judged at the time it was sent. */
  const sentAt = (notifyTime: string) => Date.parse(`${notifyTime.replace(' ', 'T')}+08:00`);
  const gateway = (appId: string, key: string, now?: number) =>
    createAlipayGateway({ baseUrl: 'http://127.0.0.1:1', appId, appPrivateKey: 'not used here', alipayPublicKey: key, ...(now ? { now: () => now } : {}) });

  it('verifies both, signed without sign_type and with it', () => {
    expect(verifyAlipayNotification(trade.form, trade.alipayPublicKeyBase64)).toBe(true);
    expect(verifyAlipayNotification(market.form, market.alipayPublicKeyPem)).toBe(true);
  });

  it('refuses either once any signed field changes by one character, or a field is added or left out', () => {
    for (const [label, note, key] of [['trade', trade.form, trade.alipayPublicKeyBase64], ['market', market.form, market.alipayPublicKeyPem]] as const) {
      const fields = note as Record<string, string>;
      // The trade notification was signed without sign_type, so only the other fields are covered by its signature.
      const signed = Object.keys(fields).filter((k) => k !== 'sign' && (label === 'market' || k !== 'sign_type'));
      const accepted: string[] = [];
      for (const k of signed) {
        for (const i of [0, fields[k]!.length - 1]) if (verifyAlipayNotification({ ...fields, [k]: flip(fields[k]!, i) }, key)) accepted.push(`${k}[${i}]`);
        const { [k]: _dropped, ...without } = fields;
        if (verifyAlipayNotification(without, key)) accepted.push(`without ${k}`);
      }
      if (verifyAlipayNotification({ ...fields, refund_fee: '0.10' }, key)) accepted.push('with refund_fee');
      expect(accepted, label).toEqual([]);
    }
  });

  it('the adapter takes the trade notification off the wire: its order, amount and currency', async () => {
    const alipay = gateway(trade.form.app_id, trade.alipayPublicKeyBase64, sentAt(trade.form.notify_time));
    await expect(alipay.inspectNotification(form(trade.form))).resolves.toEqual({ acts: true, reference: '20190815155618536-564-57' });
    expect(await alipay.parseNotification(form(trade.form))).toEqual({
      notification: { reference: '20190815155618536-564-57', status: 'captured', providerReference: '2019081522001468450512505578', amountMinor: 10, currency: 'CNY' },
      reply: { status: 200, contentType: 'text/plain', body: 'success' },
    });
  });

  it('the adapter refuses it tampered, for another app, repeated fields, or replayed long after it was sent', async () => {
    const now = sentAt(trade.form.notify_time);
    const alipay = gateway(trade.form.app_id, trade.alipayPublicKeyBase64, now);
    expect(await refusal(alipay.parseNotification(form({ ...trade.form, total_amount: '10.00' })))).toBe('provider_rejected');
    expect(await refusal(alipay.parseNotification(form({ ...trade.form, out_trade_no: flip(trade.form.out_trade_no, 0) })))).toBe('provider_rejected');
    expect(await refusal(gateway('2021000000000001', trade.alipayPublicKeyBase64, now).parseNotification(form(trade.form)))).toBe('provider_rejected');
    const repeated: RawNotification = { headers: {}, body: Buffer.from(`${new URLSearchParams(trade.form)}&total_amount=100.00`) };
    expect(await refusal(alipay.parseNotification(repeated))).toBe('provider_rejected');
    expect(await refusal(gateway(trade.form.app_id, trade.alipayPublicKeyBase64, now + 301_000).parseNotification(form(trade.form)))).toBe('provider_rejected');
    expect(await refusal(gateway(trade.form.app_id, trade.alipayPublicKeyBase64).parseNotification(form(trade.form)))).toBe('provider_rejected');
  });

  it('the adapter verifies the notification signed with sign_type, and does not act on a notification that is not about a trade', async () => {
    const alipay = gateway(market.form.app_id, market.alipayPublicKeyPem, sentAt(market.form.notify_time));
    await expect(alipay.inspectNotification(form(market.form))).resolves.toEqual({ acts: false, reply: { status: 200, contentType: 'text/plain', body: 'success' } });
    expect((await alipay.parseNotification(form(market.form))).notification).toEqual({ reference: '', status: 'other' });
    expect(await refusal(alipay.parseNotification(form({ ...market.form, total_price: '0.01' })))).toBe('provider_rejected');
  });
});

describe('WeChat Pay callback (wechatpay-go)', () => {
  const v = vectors.wechatpay_callback;
  const sentAt = Number(v.headers['Wechatpay-Timestamp']) * 1000;
  const lower = (h: Record<string, string>) => Object.fromEntries(Object.entries(h).map(([k, x]) => [k.toLowerCase(), x]));
  const headers = lower(v.headers);
  const verify = (body: string, h: Record<string, string> = headers, now = sentAt) =>
    verifyWechatMessage((n) => h[n], body, v.platformCertificatePem, { serial: 'D7CE59D1F522D701', now });
  const resource = (JSON.parse(v.body) as { resource: WechatResource }).resource;
  const gateway = (now?: number) =>
    createWechatPayGateway({
      baseUrl: 'http://127.0.0.1:1', mchid: '1234567890', appid: 'wx0000000000000000', merchantSerial: 'not used here', merchantPrivateKey: 'not used here',
      platformPublicKey: v.platformCertificatePem, platformSerial: 'D7CE59D1F522D701', apiV3Key: v.apiV3Key, ...(now ? { now: () => now } : {}),
    });

  it('verifies the signature over ts\\nnonce\\nbody\\n with the platform certificate', () => {
    expect(verify(v.body)).toBe(true);
  });

  it('refuses it once any character of the body, the timestamp or the nonce changes', () => {
    const accepted: string[] = [];
    for (let i = 0; i < v.body.length; i++) if (verify(flip(v.body, i))) accepted.push(`body[${i}]`);
    const { 'wechatpay-timestamp': ts, 'wechatpay-nonce': nonce } = headers as { 'wechatpay-timestamp': string; 'wechatpay-nonce': string };
    // Each other timestamp is judged at its own time, so only the signature can refuse it.
    for (let i = 0; i < ts.length; i++) {
      const other = flip(ts, i);
      if (verify(v.body, { ...headers, 'wechatpay-timestamp': other }, Number(other) * 1000)) accepted.push(`timestamp[${i}]`);
    }
    for (let i = 0; i < nonce.length; i++) if (verify(v.body, { ...headers, 'wechatpay-nonce': flip(nonce, i) })) accepted.push(`nonce[${i}]`);
    expect(accepted).toEqual([]);
  });

  it('refuses it under another serial, another signature type, or far from its timestamp', () => {
    expect(verify(v.body, { ...headers, 'wechatpay-serial': '5157F09EFDC096DE15EBE81A47057A7232F1B8E1' })).toBe(false);
    expect(verify(v.body, { ...headers, 'wechatpay-signature-type': 'WECHATPAY2-SM2-WITH-SM3' })).toBe(false);
    expect(verify(v.body, headers, sentAt + 300_000)).toBe(false);
    expect(verify(v.body, headers, sentAt - 300_000)).toBe(false);
    expect(verify(v.body, headers, sentAt + 299_000)).toBe(true);
  });

  it('decrypts the resource with the APIv3 key', () => {
    expect(decryptWechatResource(resource, v.apiV3Key)).toBe(v.decryptedResource);
  });

  it('refuses to decrypt once any character of the ciphertext, nonce or associated data changes, or under another key', () => {
    const accepted: string[] = [];
    const tries = (r: WechatResource, label: string, key = v.apiV3Key) => {
      try {
        decryptWechatResource(r, key);
        accepted.push(label);
      } catch {
        // refused, as it should be
      }
    };
    // Each base64 character but the padding carries bits of the ciphertext or tag.
    for (let i = 0; i < resource.ciphertext.replace(/=+$/, '').length; i++) tries({ ...resource, ciphertext: flip(resource.ciphertext, i) }, `ciphertext[${i}]`);
    for (let i = 0; i < resource.nonce.length; i++) tries({ ...resource, nonce: flip(resource.nonce, i) }, `nonce[${i}]`);
    for (let i = 0; i < resource.associated_data.length; i++) tries({ ...resource, associated_data: flip(resource.associated_data, i) }, `associated_data[${i}]`);
    tries(resource, 'another key', flip(v.apiV3Key, 0));
    expect(accepted).toEqual([]);
  });

  it('the adapter accepts the callback as received, and acts on nothing in it (it is not a transaction)', async () => {
    const raw: RawNotification = { headers, body: Buffer.from(v.body) };
    await expect(gateway(sentAt).inspectNotification(raw)).resolves.toEqual({ acts: true });
    expect((await gateway(sentAt).parseNotification(raw)).notification).toEqual({ reference: '', status: 'other', merchant: '1234567890' });
  });

  it('the adapter refuses the callback tampered, replayed later, or with its resource re-encoded', async () => {
    const raw = (body: string, h = headers): RawNotification => ({ headers: h, body: Buffer.from(body) });
    expect(await refusal(gateway(sentAt).parseNotification(raw(v.body.replace('签约成功', '签约失败'))))).toBe('provider_rejected');
    expect(await refusal(gateway(sentAt).parseNotification(raw(JSON.stringify(JSON.parse(v.body), null, 2))))).toBe('provider_rejected');
    expect(await refusal(gateway(sentAt + 600_000).parseNotification(raw(v.body)))).toBe('provider_rejected');
    expect(await refusal(gateway().parseNotification(raw(v.body)))).toBe('provider_rejected');
  });
});
