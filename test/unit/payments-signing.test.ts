import { createVerify, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  alipaySignContent, alipayTimestamp, buildAlipayResponse, extractAlipayResponse, signAlipayParams, verifyAlipayNotification, verifyAlipayParams,
} from '../../src/payments/alipay.signing.js';
import { formatDecimal, parseDecimal } from '../../src/payments/decimal-amount.js';
import { parseRetryAfter } from '../../src/payments/provider-http.js';
import { rsaSign, rsaVerify } from '../../src/payments/rsa.js';
import { stripeSignature, stripeSignatureHeader, verifyStripeSignature } from '../../src/payments/stripe.signing.js';
import {
  buildWechatAuthorization, decryptWechatResource, encryptWechatResource, parseWechatAuthorization, signWechatMessage, verifyWechatMessage, wechatRequestMessage,
} from '../../src/payments/wechat-pay.signing.js';

const pair = () => generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
const keys = pair();
const other = pair();

describe('Alipay RSA2', () => {
  const params = {
    app_id: '2021000000000001', method: 'alipay.trade.pay', charset: 'utf-8', sign_type: 'RSA2', timestamp: '2024-01-02 00:30:00',
    version: '1.0', notify_url: '', biz_content: '{"out_trade_no":"o-1","total_amount":"19.99","subject":"茶 & tea"}', sign: 'ignored',
  };

  it('builds the sign string from sorted, non-empty, raw (not URL-encoded) params without sign', () => {
    expect(alipaySignContent(params)).toBe(
      'app_id=2021000000000001&biz_content={"out_trade_no":"o-1","total_amount":"19.99","subject":"茶 & tea"}&charset=utf-8' +
        '&method=alipay.trade.pay&sign_type=RSA2&timestamp=2024-01-02 00:30:00&version=1.0',
    );
  });

  it('signs SHA256withRSA over that string; a tampered param or another key fails', () => {
    const sign = signAlipayParams(params, keys.privateKey);
    const verifier = createVerify('RSA-SHA256').update(alipaySignContent(params));
    expect(verifier.verify(keys.publicKey, sign, 'base64')).toBe(true);
    expect(verifyAlipayParams({ ...params, sign }, keys.publicKey)).toBe(true);
    expect(verifyAlipayParams({ ...params, sign, biz_content: params.biz_content.replace('19.99', '1.99') }, keys.publicKey)).toBe(false);
    expect(verifyAlipayParams({ ...params, sign }, other.publicKey)).toBe(false);
  });

  it('verifies notifications with sign and sign_type left out', () => {
    const note = { notify_id: 'n1', trade_status: 'TRADE_SUCCESS', out_trade_no: 'o-1', total_amount: '19.99', sign_type: 'RSA2' };
    const sign = rsaSign('notify_id=n1&out_trade_no=o-1&total_amount=19.99&trade_status=TRADE_SUCCESS', keys.privateKey);
    expect(verifyAlipayNotification({ ...note, sign }, keys.publicKey)).toBe(true);
    expect(verifyAlipayNotification({ ...note, total_amount: '1999.00', sign }, keys.publicKey)).toBe(false);
  });

  it('takes the raw response node as received, nested braces and odd spacing included', () => {
    const node = '{"code":"10000","msg":"Success","x":{"a":"}"} , "total_amount":"19.99"}';
    const raw = `{"alipay_trade_pay_response":${node},"sign":"c2lnbg=="}`;
    expect(extractAlipayResponse(raw, 'alipay.trade.pay')).toEqual({ key: 'alipay_trade_pay_response', node, sign: 'c2lnbg==' });
    expect(extractAlipayResponse('{"error_response":{"code":"40002"}}', 'alipay.trade.pay')).toEqual({ key: 'error_response', node: '{"code":"40002"}' });
    const built = buildAlipayResponse('alipay.trade.query', { code: '10000', trade_status: 'TRADE_SUCCESS' }, keys.privateKey);
    const found = extractAlipayResponse(built, 'alipay.trade.query')!;
    expect(rsaVerify(found.node, found.sign!, keys.publicKey)).toBe(true);
    expect(rsaVerify(found.node.replace('SUCCESS', 'FINISHED'), found.sign!, keys.publicKey)).toBe(false);
  });

  it('formats timestamps in Beijing time', () => {
    expect(alipayTimestamp(new Date('2024-01-01T16:30:00Z'))).toBe('2024-01-02 00:30:00');
  });
});

describe('WeChat Pay API v3', () => {
  it('builds the request message and an Authorization header that verifies', () => {
    const body = '{"out_trade_no":"o-1"}';
    expect(wechatRequestMessage('POST', '/v3/pay/transactions/codepay', '1700000000', 'NONCE', body))
      .toBe('POST\n/v3/pay/transactions/codepay\n1700000000\nNONCE\n{"out_trade_no":"o-1"}\n');
    const header = buildWechatAuthorization({ mchid: '1900000001', serialNo: 'ABC', privateKey: keys.privateKey, method: 'GET', pathAndQuery: '/v3/x?mchid=1', body: '', timestamp: '1700000000', nonce: 'NONCE' });
    expect(header).toMatch(/^WECHATPAY2-SHA256-RSA2048 mchid="1900000001",nonce_str="NONCE",timestamp="1700000000",serial_no="ABC",signature="[A-Za-z0-9+/=]+"$/);
    const auth = parseWechatAuthorization(header)!;
    expect(rsaVerify('GET\n/v3/x?mchid=1\n1700000000\nNONCE\n\n', auth.signature, keys.publicKey)).toBe(true);
    expect(rsaVerify('GET\n/v3/x?mchid=2\n1700000000\nNONCE\n\n', auth.signature, keys.publicKey)).toBe(false);
    expect(parseWechatAuthorization('Bearer x')).toBeUndefined();
  });

  it('verifies signed answers: tampered body, other key, other serial and stale timestamps fail', () => {
    const body = '{"trade_state":"SUCCESS"}';
    const headers = Object.fromEntries(Object.entries(signWechatMessage(body, keys.privateKey, 'SERIAL')).map(([k, v]) => [k.toLowerCase(), v]));
    const get = (n: string) => headers[n];
    expect(verifyWechatMessage(get, body, keys.publicKey, { serial: 'SERIAL' })).toBe(true);
    expect(verifyWechatMessage(get, body.replace('SUCCESS', 'REFUND'), keys.publicKey)).toBe(false);
    expect(verifyWechatMessage(get, body, other.publicKey)).toBe(false);
    expect(verifyWechatMessage(get, body, keys.publicKey, { serial: 'OTHER' })).toBe(false);
    expect(verifyWechatMessage(get, body, keys.publicKey, { now: Date.now() + 301_000 })).toBe(false);
  });

  it('decrypts AES-256-GCM resources; a wrong key, nonce, associated data or ciphertext throws', () => {
    const key = '0123456789abcdef0123456789abcdef';
    const r = encryptWechatResource('{"out_trade_no":"o-1"}', key, 'transaction');
    expect(decryptWechatResource(r, key)).toBe('{"out_trade_no":"o-1"}');
    expect(() => decryptWechatResource(r, 'fedcba9876543210fedcba9876543210')).toThrow();
    expect(() => decryptWechatResource({ ...r, associated_data: 'refund' }, key)).toThrow();
    expect(() => decryptWechatResource({ ...r, nonce: 'aaaaaaaaaaaa' }, key)).toThrow();
    const ct = Buffer.from(r.ciphertext, 'base64');
    ct[0] = ct[0]! ^ 1;
    expect(() => decryptWechatResource({ ...r, ciphertext: ct.toString('base64') }, key)).toThrow();
  });
});

describe('Stripe-Signature', () => {
  const body = '{"id":"evt_1"}';
  it('is hex HMAC-SHA256(secret, "t.body")', () => {
    expect(stripeSignature('whsec_fixed', body, 1_700_000_000)).toBe('1ea71455e51291820430ed7fe35ff5f4c9f070501cab7cf67d315e6322eab42a');
  });
  it('verifies within five minutes only, over the exact body, with any of several v1 entries', () => {
    const now = 1_700_000_000_000;
    const header = stripeSignatureHeader('whsec_fixed', body, now);
    expect(verifyStripeSignature(header, body, 'whsec_fixed', { now })).toBe(true);
    expect(verifyStripeSignature(`${header.split(',')[0]},v1=00ff,${header.split(',')[1]}`, body, 'whsec_fixed', { now })).toBe(true);
    expect(verifyStripeSignature(header, body, 'whsec_fixed', { now: now + 301_000 })).toBe(false);
    expect(verifyStripeSignature(header, `${body} `, 'whsec_fixed', { now })).toBe(false);
    expect(verifyStripeSignature(header, body, 'whsec_other', { now })).toBe(false);
    expect(verifyStripeSignature(undefined, body, 'whsec_fixed', { now })).toBe(false);
  });
});

describe('amounts and Retry-After', () => {
  it('converts minor units to and from provider decimals without floats', () => {
    expect(formatDecimal(1999, 'CNY')).toBe('19.99');
    expect(formatDecimal(5, 'USD')).toBe('0.05');
    expect(formatDecimal(500, 'JPY')).toBe('500');
    expect(formatDecimal(1234, 'KWD')).toBe('1.234');
    expect(parseDecimal('19.9', 'CNY')).toBe(1990);
    expect(parseDecimal('0.07', 'CNY')).toBe(7);
    expect(() => parseDecimal('1.234', 'CNY')).toThrow();
    expect(() => parseDecimal('-1', 'CNY')).toThrow();
  });
  it('reads Retry-After as seconds or an HTTP date', () => {
    expect(parseRetryAfter('7')).toBe(7);
    expect(parseRetryAfter(null)).toBeUndefined();
    expect(parseRetryAfter(new Date(Date.now() + 30_000).toUTCString())).toBeGreaterThanOrEqual(29);
  });
});

describe('alipay notification freshness', () => {
  it('accepts a notify_time within five minutes (Beijing time) and refuses older, newer or malformed ones', async () => {
    const { isRecentBeijingTime } = await import('../../src/payments/alipay.notification.js');
    const now = Date.UTC(2026, 10, 26, 0, 0, 0); // 08:00:00 in Beijing
    expect(isRecentBeijingTime('2026-11-26 08:00:00', 300, now)).toBe(true);
    expect(isRecentBeijingTime('2026-11-26 07:55:30', 300, now)).toBe(true);
    expect(isRecentBeijingTime('2026-11-26 07:54:59', 300, now)).toBe(false);
    expect(isRecentBeijingTime('2026-11-26 08:05:01', 300, now)).toBe(false);
    expect(isRecentBeijingTime('2026-11-26T08:00:00Z', 300, now)).toBe(false);
    expect(isRecentBeijingTime('', 300, now)).toBe(false);
  });
});
