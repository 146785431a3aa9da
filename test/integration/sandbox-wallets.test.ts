import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAlipayNotification } from '../../src/payments/alipay.signing.js';
import { rsaVerify } from '../../src/payments/rsa.js';
import { decryptWechatResource, verifyWechatMessage } from '../../src/payments/wechat-pay.signing.js';
import { startSandbox, type Received, type Sandbox } from '../support/sandbox-wire.js';

/** Alipay and WeChat Pay trades that wait for a buyer, on their real wire formats, refusals included. */

let sbx: Sandbox;
beforeAll(async () => {
  sbx = await startSandbox();
});
afterAll(async () => {
  await sbx?.close();
});

const hex = () => randomBytes(16).toString('hex');
const formOf = (r: Received) => Object.fromEntries(new URLSearchParams(r.body.toString('utf8')));
const alipayNote = (reference: string) => sbx.notification((r) => r.path === '/notify/alipay' && formOf(r).out_trade_no === reference);
const wechatResource = (r: Received) =>
  JSON.parse(decryptWechatResource(JSON.parse(r.body.toString('utf8')).resource, sbx.creds.wechatPay.apiV3Key)) as Record<string, any>;
const wechatNote = (reference: string) =>
  sbx.notification((r) => r.path === '/notify/wechat_pay' && wechatResource(r).out_trade_no === reference);

describe('Alipay', () => {
  it('precreate: a QR to the checkout page; the trade exists from the scan; paid, it is notified, signed, and queried', async () => {
    const ref = hex();
    const pre = await sbx.alipay.call('alipay.trade.precreate', { out_trade_no: ref, total_amount: '39.98', subject: 'Jasmine tea' });
    expect(pre.node).toMatchObject({ code: '10000', out_trade_no: ref });
    expect(rsaVerify(JSON.stringify(pre.node), pre.sign!, sbx.creds.alipay.alipayPublicKey)).toBe(true);
    expect(pre.node.qr_code).toMatch(new RegExp(`^${sbx.base}/checkout/`));
    expect((await sbx.alipay.call('alipay.trade.precreate', { out_trade_no: ref, total_amount: '39.98', subject: 'Jasmine tea' })).node.qr_code).toBe(pre.node.qr_code);
    expect((await sbx.alipay.call('alipay.trade.precreate', { out_trade_no: ref, total_amount: '1.00', subject: 'Jasmine tea' })).node.sub_code).toBe('ACQ.CONTEXT_INCONSISTENT');

    // Not scanned yet: Alipay has no such trade, and cannot close it.
    expect((await sbx.alipay.call('alipay.trade.query', { out_trade_no: ref })).node.sub_code).toBe('ACQ.TRADE_NOT_EXIST');
    expect((await sbx.alipay.call('alipay.trade.close', { out_trade_no: ref })).node.sub_code).toBe('ACQ.TRADE_NOT_EXIST');
    const page = await sbx.buyer.open(pre.node.qr_code!);
    expect(page.status).toBe(200);
    expect(page.html).toContain('39.98 CNY');
    expect(page.html).toContain('Jasmine tea');
    expect(page.html).toMatch(/<form method="post" action="[^"]+\/pay"><button type="submit" id="pay">Pay<\/button>/);
    expect((await sbx.alipay.call('alipay.trade.query', { out_trade_no: ref })).node).toMatchObject({ code: '10000', trade_status: 'WAIT_BUYER_PAY', total_amount: '39.98', buyer_pay_amount: '0.00' });

    const paid = await sbx.buyer.pay(sbx.buyer.refOf(pre.node.qr_code!));
    expect(paid).toMatchObject({ status: 200, json: { status: 'captured', amountMinor: 3998, providerStatus: 'TRADE_SUCCESS' } });
    const note = formOf(await alipayNote(ref));
    expect(note).toMatchObject({ trade_status: 'TRADE_SUCCESS', total_amount: '39.98', buyer_pay_amount: '39.98', app_id: sbx.creds.alipay.appId, auth_app_id: sbx.creds.alipay.appId });
    expect(verifyAlipayNotification(note, sbx.creds.alipay.alipayPublicKey)).toBe(true);
    expect(verifyAlipayNotification({ ...note, total_amount: '0.01' }, sbx.creds.alipay.alipayPublicKey)).toBe(false);
    expect((await sbx.alipay.call('alipay.trade.query', { out_trade_no: ref })).node).toMatchObject({ trade_status: 'TRADE_SUCCESS', trade_no: note.trade_no, buyer_pay_amount: '39.98' });
    expect(await sbx.ledger(ref)).toMatchObject([{ method: 'alipay', flow: 'precreate', status: 'captured', amountMinor: 3998, requestedMinor: 3998, merchant: sbx.creds.alipay.appId }]);

    // Paying again, or closing a paid trade, is refused.
    expect((await sbx.buyer.pay(sbx.buyer.refOf(pre.node.qr_code!))).status).toBe(409);
    expect((await sbx.alipay.call('alipay.trade.close', { out_trade_no: ref })).node.sub_code).toBe('ACQ.TRADE_STATUS_ERROR');
  });

  it('a buyer who pays another amount: the trade, the query and the notification say what was paid', async () => {
    const ref = hex();
    const pre = await sbx.alipay.call('alipay.trade.precreate', { out_trade_no: ref, total_amount: '39.98', subject: 'tea' });
    const tradeRef = sbx.buyer.refOf(pre.node.qr_code!);
    expect(await sbx.buyer.pay(tradeRef, { amountMinor: 0 })).toMatchObject({ status: 400, json: { errors: [{ path: 'amountMinor' }] } });
    expect((await sbx.buyer.pay(tradeRef, { amountMinor: 1 })).json).toMatchObject({ amountMinor: 1, requestedMinor: 3998 });
    expect(formOf(await alipayNote(ref))).toMatchObject({ total_amount: '0.01', buyer_pay_amount: '0.01' });
    expect((await sbx.alipay.call('alipay.trade.query', { out_trade_no: ref })).node).toMatchObject({ trade_status: 'TRADE_SUCCESS', total_amount: '0.01' });
  });

  it('close: an open trade is closed at once; the buyer can no longer pay it; a never-seen code is stopped by cancel', async () => {
    const ref = hex();
    const pre = await sbx.alipay.call('alipay.trade.precreate', { out_trade_no: ref, total_amount: '5.00', subject: 'tea' });
    await sbx.buyer.open(pre.node.qr_code!);
    expect((await sbx.alipay.call('alipay.trade.close', { out_trade_no: ref })).node).toMatchObject({ code: '10000', out_trade_no: ref });
    const late = await sbx.buyer.pay(sbx.buyer.refOf(pre.node.qr_code!));
    expect(late.status).toBe(409);
    expect(late.json.detail).toMatch(/closed/);
    expect((await sbx.alipay.call('alipay.trade.query', { out_trade_no: ref })).node.trade_status).toBe('TRADE_CLOSED');
    expect(await sbx.ledger(ref)).toMatchObject([{ status: 'closed', amountMinor: 0 }]);
    expect((await sbx.alipay.call('alipay.trade.close', { out_trade_no: ref })).node.sub_code).toBe('ACQ.TRADE_STATUS_ERROR');

    const unseen = hex();
    const code = (await sbx.alipay.call('alipay.trade.precreate', { out_trade_no: unseen, total_amount: '5.00', subject: 'tea' })).node.qr_code!;
    expect((await sbx.alipay.call('alipay.trade.cancel', { out_trade_no: unseen })).node).toMatchObject({ code: '10000', action: 'close', retry_flag: 'N' });
    expect((await sbx.buyer.pay(sbx.buyer.refOf(code))).status).toBe(409);

    // A cancel that arrives before its payment-code trade: that out_trade_no can never be paid.
    const early = hex();
    expect((await sbx.alipay.call('alipay.trade.cancel', { out_trade_no: early })).node).toMatchObject({ code: '10000', action: 'close' });
    expect((await sbx.alipay.call('alipay.trade.pay', { out_trade_no: early, scene: 'bar_code', auth_code: 'tok_ok', total_amount: '5.00', subject: 'tea' })).node.sub_code).toBe('ACQ.TRADE_HAS_CLOSE');
  });

  it('an expired trade cannot be paid and shows closed', async () => {
    const ref = hex();
    const past = new Date(Date.now() - 60_000 + 8 * 3600_000).toISOString().replace('T', ' ').slice(0, 19);
    const pre = await sbx.alipay.call('alipay.trade.precreate', { out_trade_no: ref, total_amount: '5.00', subject: 'tea', time_expire: past });
    const paid = await sbx.buyer.pay(sbx.buyer.refOf(pre.node.qr_code!));
    expect(paid).toMatchObject({ status: 409, json: { detail: expect.stringMatching(/expired/) } });
    expect(await sbx.ledger(ref)).toMatchObject([{ status: 'closed' }]);
    expect((await sbx.alipay.call('alipay.trade.precreate', { out_trade_no: hex(), total_amount: '5.00', subject: 'tea', timeout_express: '3x' })).node.sub_code).toBe('ACQ.INVALID_PARAMETER');
  });

  it('page.pay: the signed request in the browser leads to the checkout page, and back to return_url signed', async () => {
    const ref = hex();
    const url = sbx.alipay.browserUrl('alipay.trade.page.pay', { out_trade_no: ref, total_amount: '12.30', subject: 'cups', product_code: 'FAST_INSTANT_TRADE_PAY' }, { return_url: 'https://shop.example/back?x=1' });
    const arrive = await sbx.buyer.open(url);
    expect(arrive.status).toBe(302);
    expect(arrive.location).toMatch(new RegExp(`^${sbx.base}/checkout/`));
    expect((await sbx.alipay.call('alipay.trade.query', { out_trade_no: ref })).node.trade_status).toBe('WAIT_BUYER_PAY');
    const back = await sbx.buyer.submit(sbx.buyer.refOf(arrive.location!), 'pay');
    expect(back.status).toBe(303);
    const to = new URL(back.location!);
    expect(to.origin + to.pathname).toBe('https://shop.example/back');
    const q = Object.fromEntries(to.searchParams);
    expect(q).toMatchObject({ x: '1', method: 'alipay.trade.page.pay.return', out_trade_no: ref, total_amount: '12.30' });
    const { x: _x, ...signed } = q;
    expect(verifyAlipayNotification(signed, sbx.creds.alipay.alipayPublicKey)).toBe(true);

    // A request that does not verify is refused in the browser, and opens nothing.
    const forged = url.replace('12.30', '0.01');
    const refused = await sbx.buyer.open(forged);
    expect(refused.status).toBe(400);
    expect(refused.html).toContain('invalid-signature');
    const missing = sbx.alipay.browserUrl('alipay.trade.wap.pay', { out_trade_no: hex(), total_amount: '1.00', subject: 'x' });
    expect((await sbx.buyer.open(missing)).html).toContain('product_code');
  });

  it('app_auth_token: the trade is the sub-merchant\'s, seen only with its token, and notified with its ids', async () => {
    const ref = hex();
    const token = `202509BB${randomBytes(8).toString('hex')}`;
    const pre = await sbx.alipay.call('alipay.trade.precreate', { out_trade_no: ref, total_amount: '8.00', subject: 'tea' }, { app_auth_token: token });
    await sbx.buyer.pay(sbx.buyer.refOf(pre.node.qr_code!));
    const note = formOf(await alipayNote(ref));
    expect(note.app_id).toBe(sbx.creds.alipay.appId);
    expect(note.auth_app_id).not.toBe(sbx.creds.alipay.appId);
    expect((await sbx.alipay.call('alipay.trade.query', { out_trade_no: ref }, { app_auth_token: token })).node.trade_status).toBe('TRADE_SUCCESS');
    expect((await sbx.alipay.call('alipay.trade.query', { out_trade_no: ref })).node.sub_code).toBe('ACQ.TRADE_NOT_EXIST');
    expect((await sbx.alipay.call('alipay.trade.query', { out_trade_no: ref }, { app_auth_token: 'someone-else' })).node.sub_code).toBe('ACQ.TRADE_NOT_EXIST');
    expect(await sbx.ledger(ref)).toMatchObject([{ merchant: token, status: 'captured' }]);
  });

  it('refunds: fund_change N on a replay, refund query, and cancel of a paid trade refunds it in full', async () => {
    const ref = hex();
    await sbx.alipay.call('alipay.trade.pay', { out_trade_no: ref, scene: 'bar_code', auth_code: 'tok_ok', total_amount: '10.00', subject: 'tea' });
    const r1 = await sbx.alipay.call('alipay.trade.refund', { out_trade_no: ref, refund_amount: '3.00', out_request_no: 'r1' });
    expect(r1.node).toMatchObject({ code: '10000', fund_change: 'Y', refund_fee: '3.00' });
    expect((await sbx.alipay.call('alipay.trade.refund', { out_trade_no: ref, refund_amount: '3.00', out_request_no: 'r1' })).node).toMatchObject({ code: '10000', fund_change: 'N', refund_fee: '3.00' });
    expect((await sbx.alipay.call('alipay.trade.fastpay.refund.query', { out_trade_no: ref, out_request_no: 'r1' })).node.refund_status).toBe('REFUND_SUCCESS');
    expect((await sbx.alipay.call('alipay.trade.fastpay.refund.query', { out_trade_no: ref, out_request_no: 'r2' })).node.refund_status).toBeUndefined();
    expect((await sbx.alipay.call('alipay.trade.cancel', { out_trade_no: ref })).node).toMatchObject({ code: '10000', action: 'refund' });
    expect(await sbx.ledger(ref)).toMatchObject([{ status: 'refunded', refundedMinor: 1000 }]);
    expect((await sbx.alipay.call('alipay.trade.query', { out_trade_no: ref })).node.trade_status).toBe('TRADE_CLOSED');
  });

  it('tok_pending: 10003, the buyer confirms on the checkout page', async () => {
    const ref = hex();
    const pay = await sbx.alipay.call('alipay.trade.pay', { out_trade_no: ref, scene: 'bar_code', auth_code: 'tok_pending', total_amount: '6.00', subject: 'tea' });
    expect(pay.node).toMatchObject({ code: '10003', trade_status: 'WAIT_BUYER_PAY' });
    const [entry] = await sbx.ledger(ref);
    expect(entry).toMatchObject({ status: 'pending', flow: 'bar_code' });
    expect((await sbx.buyer.pay(entry!.tradeRef!)).json).toMatchObject({ status: 'captured', amountMinor: 600 });
    expect((await sbx.alipay.call('alipay.trade.query', { out_trade_no: ref })).node.trade_status).toBe('TRADE_SUCCESS');
  });
});

describe('WeChat Pay', () => {
  const c = () => sbx.creds.wechatPay;
  const direct = (ref: string, extra: Record<string, unknown> = {}) => ({
    appid: c().appid, mchid: c().mchid, description: 'Jasmine tea', out_trade_no: ref, notify_url: `${sbx.notifyBase}/notify/wechat_pay`, amount: { total: 3998, currency: 'CNY' }, ...extra,
  });
  const query = (ref: string) => sbx.wechat('GET', `/v3/pay/transactions/out-trade-no/${ref}?mchid=${c().mchid}`);

  it('Native: code_url to the checkout page; NOTPAY, then paid: signed and encrypted TRANSACTION.SUCCESS, SUCCESS in the query', async () => {
    const ref = hex();
    const made = await sbx.wechat('POST', '/v3/pay/transactions/native', direct(ref));
    expect(made.status).toBe(200);
    expect(verifyWechatMessage((n) => made.headers.get(n) ?? undefined, made.raw, c().platformPublicKey)).toBe(true);
    expect(made.json.code_url).toMatch(new RegExp(`^${sbx.base}/checkout/`));
    expect((await sbx.wechat('POST', '/v3/pay/transactions/native', direct(ref))).json.code_url).toBe(made.json.code_url);
    expect(await sbx.wechat('POST', '/v3/pay/transactions/native', direct(ref, { amount: { total: 1 } }))).toMatchObject({ status: 403, json: { code: 'OUT_TRADE_NO_USED' } });
    expect((await query(ref)).json).toMatchObject({ trade_state: 'NOTPAY', out_trade_no: ref, amount: { total: 3998 } });
    expect((await query(ref)).json.transaction_id).toBeUndefined();

    await sbx.buyer.pay(sbx.buyer.refOf(made.json.code_url));
    const note = await wechatNote(ref);
    expect(verifyWechatMessage((n) => note.headers[n] as string | undefined, note.body.toString('utf8'), c().platformPublicKey)).toBe(true);
    expect(JSON.parse(note.body.toString('utf8'))).toMatchObject({ event_type: 'TRANSACTION.SUCCESS', resource_type: 'encrypt-resource', resource: { algorithm: 'AEAD_AES_256_GCM' } });
    expect(wechatResource(note)).toMatchObject({ appid: c().appid, mchid: c().mchid, trade_state: 'SUCCESS', trade_type: 'NATIVE', amount: { total: 3998, payer_total: 3998, currency: 'CNY' } });
    const q = (await query(ref)).json;
    expect(q).toMatchObject({ trade_state: 'SUCCESS', transaction_id: wechatResource(note).transaction_id });
    expect((await sbx.wechat('GET', `/v3/pay/transactions/id/${q.transaction_id}?mchid=${c().mchid}`)).json.out_trade_no).toBe(ref);
    expect(await sbx.wechat('POST', '/v3/pay/transactions/native', direct(ref))).toMatchObject({ status: 400, json: { code: 'ORDERPAID' } });
    expect(await sbx.wechat('POST', `/v3/pay/transactions/out-trade-no/${ref}/close`, { mchid: c().mchid })).toMatchObject({ status: 400, json: { code: 'ORDERPAID' } });
  });

  it('refuses an out_trade_no over 32 characters, a JSAPI without openid, an H5 without scene_info: PARAM_ERROR', async () => {
    const long = `${hex()}a`;
    expect(long).toHaveLength(33);
    expect(await sbx.wechat('POST', '/v3/pay/transactions/native', direct(long))).toMatchObject({ status: 400, json: { code: 'PARAM_ERROR', message: expect.stringContaining('32') } });
    expect(await sbx.wechat('POST', '/v3/pay/transactions/codepay', { ...direct(long), payer: { auth_code: 'tok_ok' }, scene_info: { store_info: { out_id: 's1' } } })).toMatchObject({ status: 400, json: { code: 'PARAM_ERROR' } });
    expect(await sbx.wechat('POST', '/v3/pay/transactions/jsapi', direct(hex()))).toMatchObject({ status: 400, json: { code: 'PARAM_ERROR', message: expect.stringContaining('payer.openid') } });
    expect(await sbx.wechat('POST', '/v3/pay/transactions/h5', direct(hex()))).toMatchObject({ status: 400, json: { code: 'PARAM_ERROR', message: expect.stringContaining('scene_info') } });
    expect(await sbx.wechat('POST', '/v3/pay/transactions/native', direct(hex(), { appid: 'wx0000' }))).toMatchObject({ status: 400, json: { code: 'APPID_MCHID_NOT_MATCH' } });
    expect(await sbx.ledger(long)).toEqual([]);
  });

  it('JSAPI: the prepay id is the buyer\'s way in; H5: the buyer returns to the redirect_url appended to h5_url', async () => {
    const ref = hex();
    const jsapi = await sbx.wechat('POST', '/v3/pay/transactions/jsapi', direct(ref, { payer: { openid: 'o-buyer-1' } }));
    expect(jsapi.json.prepay_id).toMatch(/^wx\d{14}/);
    await sbx.buyer.pay(jsapi.json.prepay_id);
    expect(wechatResource(await wechatNote(ref))).toMatchObject({ trade_type: 'JSAPI', payer: { openid: 'o-buyer-1' } });

    const h5ref = hex();
    const h5 = await sbx.wechat('POST', '/v3/pay/transactions/h5', direct(h5ref, { scene_info: { payer_client_ip: '203.0.113.9', h5_info: { type: 'Wap' } } }));
    const url = `${h5.json.h5_url}&redirect_url=${encodeURIComponent('https://shop.example/paid')}`;
    const page = await sbx.buyer.open(url);
    expect(page.html).toContain('redirect_url=https%3A%2F%2Fshop.example%2Fpaid');
    const back = await sbx.buyer.submit(sbx.buyer.refOf(url), 'pay', `?redirect_url=${encodeURIComponent('https://shop.example/paid')}`);
    expect(back).toMatchObject({ status: 303, location: 'https://shop.example/paid' });
    expect((await query(h5ref)).json).toMatchObject({ trade_state: 'SUCCESS', trade_type: 'MWEB' });
  });

  it('close: 204, then paying is refused and the query says CLOSED; an expired trade cannot be paid', async () => {
    const ref = hex();
    const made = await sbx.wechat('POST', '/v3/pay/transactions/native', direct(ref));
    expect((await sbx.wechat('POST', `/v3/pay/transactions/out-trade-no/${ref}/close`, { mchid: c().mchid })).status).toBe(204);
    expect((await sbx.wechat('POST', `/v3/pay/transactions/out-trade-no/${ref}/close`, { mchid: c().mchid })).status).toBe(204);
    expect((await sbx.buyer.pay(sbx.buyer.refOf(made.json.code_url))).status).toBe(409);
    expect((await query(ref)).json.trade_state).toBe('CLOSED');
    expect(await sbx.wechat('POST', '/v3/pay/transactions/native', direct(ref))).toMatchObject({ status: 400, json: { code: 'ORDER_CLOSED' } });

    const old = hex();
    const expired = await sbx.wechat('POST', '/v3/pay/transactions/native', direct(old, { time_expire: new Date(Date.now() - 1000).toISOString() }));
    expect((await sbx.buyer.pay(sbx.buyer.refOf(expired.json.code_url))).status).toBe(409);
    expect(await sbx.ledger(old)).toMatchObject([{ status: 'closed', providerStatus: 'CLOSED' }]);
    expect((await sbx.wechat('POST', `/v3/pay/transactions/out-trade-no/${hex()}/close`, { mchid: c().mchid })).status).toBe(404);
  });

  it('service-provider mode: the sub-merchant\'s trade, notified with sp_mchid and sub_mchid, unseen in direct mode', async () => {
    const ref = hex();
    const sub = `16${randomBytes(4).readUInt32BE() % 100_000_000}`;
    const body = {
      sp_appid: c().appid, sp_mchid: c().mchid, sub_mchid: sub, description: 'tea', out_trade_no: ref, notify_url: `${sbx.notifyBase}/notify/wechat_pay`,
      amount: { total: 500 }, payer: { sp_openid: 'o-sp-buyer' },
    };
    const made = await sbx.wechat('POST', '/v3/pay/partner/transactions/jsapi', body);
    expect(made.status).toBe(200);
    expect(await sbx.wechat('POST', '/v3/pay/partner/transactions/jsapi', { ...body, out_trade_no: hex(), sub_mchid: undefined })).toMatchObject({ status: 400, json: { code: 'PARAM_ERROR' } });
    await sbx.buyer.pay(made.json.prepay_id);
    expect(wechatResource(await wechatNote(ref))).toMatchObject({ sp_mchid: c().mchid, sub_mchid: sub, sp_appid: c().appid, payer: { sp_openid: 'o-sp-buyer' } });
    expect((await sbx.wechat('GET', `/v3/pay/partner/transactions/out-trade-no/${ref}?sp_mchid=${c().mchid}&sub_mchid=${sub}`)).json.trade_state).toBe('SUCCESS');
    expect((await query(ref)).status).toBe(404);
    expect((await sbx.wechat('GET', `/v3/pay/partner/transactions/out-trade-no/${ref}?sp_mchid=${c().mchid}&sub_mchid=1600000001`)).status).toBe(404);
    expect(await sbx.ledger(ref)).toMatchObject([{ merchant: sub, status: 'captured', flow: 'jsapi' }]);
    // Its refund names the sub-merchant.
    expect((await sbx.wechat('POST', '/v3/refund/domestic/refunds', { out_trade_no: ref, out_refund_no: `rf${hex()}`, amount: { refund: 100, total: 500, currency: 'CNY' } })).status).toBe(404);
    expect((await sbx.wechat('POST', '/v3/refund/domestic/refunds', { sub_mchid: sub, out_trade_no: ref, out_refund_no: `rf${hex()}`, amount: { refund: 100, total: 500, currency: 'CNY' } })).json.status).toBe('SUCCESS');
  });

  it('codepay: never notified; tok_pending is USERPAYING until the buyer confirms; reverse revokes and refunds', async () => {
    const codepay = (ref: string, token: string) =>
      sbx.wechat('POST', '/v3/pay/transactions/codepay', { ...direct(ref), payer: { auth_code: token }, scene_info: { store_info: { out_id: 'store-1' } } });
    const paidRef = hex();
    expect((await codepay(paidRef, 'tok_ok')).json).toMatchObject({ trade_state: 'SUCCESS', trade_type: 'MICROPAY' });

    const pendingRef = hex();
    expect(await codepay(pendingRef, 'tok_pending')).toMatchObject({ status: 202, json: { code: 'USERPAYING' } });
    expect((await query(pendingRef)).json.trade_state).toBe('USERPAYING');
    const [entry] = await sbx.ledger(pendingRef);
    await sbx.buyer.pay(entry!.tradeRef!);
    expect((await query(pendingRef)).json.trade_state).toBe('SUCCESS');

    // A Native trade paid after both is notified; had the codepay ones been, theirs would have come first.
    const nativeRef = hex();
    const native = await sbx.wechat('POST', '/v3/pay/transactions/native', direct(nativeRef));
    await sbx.buyer.pay(sbx.buyer.refOf(native.json.code_url));
    await wechatNote(nativeRef);
    expect(sbx.received.filter((r) => r.path === '/notify/wechat_pay' && [paidRef, pendingRef].includes(wechatResource(r).out_trade_no))).toEqual([]);

    expect((await sbx.wechat('POST', `/v3/pay/transactions/out-trade-no/${paidRef}/reverse`, { appid: c().appid, mchid: c().mchid })).status).toBe(204);
    expect((await query(paidRef)).json.trade_state).toBe('REVOKED');
    expect(await sbx.ledger(paidRef)).toMatchObject([{ status: 'refunded', refundedMinor: 3998 }]);

    const declinedRef = hex();
    await codepay(declinedRef, 'tok_pending');
    const [declined] = await sbx.ledger(declinedRef);
    await sbx.buyer.decline(declined!.tradeRef!);
    expect((await query(declinedRef)).json.trade_state).toBe('PAYERROR');
    expect(await sbx.wechat('POST', `/v3/pay/transactions/out-trade-no/${nativeRef}/reverse`, { appid: c().appid, mchid: c().mchid })).toMatchObject({ status: 400, json: { code: 'INVALID_REQUEST' } });
  });
});

describe('the ledger', () => {
  it('finds an order\'s trades by its uuid and by its 32 hex digits', async () => {
    const orderId = randomUUID();
    const compact = orderId.replace(/-/g, '');
    await sbx.wechat('POST', '/v3/pay/transactions/native', {
      appid: sbx.creds.wechatPay.appid, mchid: sbx.creds.wechatPay.mchid, description: 'tea', out_trade_no: compact, notify_url: `${sbx.notifyBase}/n`, amount: { total: 100 },
    });
    await sbx.alipay.call('alipay.trade.pay', { out_trade_no: orderId, scene: 'bar_code', auth_code: 'tok_ok', total_amount: '1.00', subject: 'tea' });
    for (const key of [orderId, compact, orderId.toUpperCase()]) {
      expect((await sbx.ledger(key)).map((e) => [e.method, e.reference, e.status])).toEqual([['wechat_pay', compact, 'pending'], ['alipay', orderId, 'captured']]);
    }
  });
});
