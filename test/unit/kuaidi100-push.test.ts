import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { kuaidi100PushReceiver, kuaidi100PushSign } from '../../src/carriers/kuaidi100.push.js';

/**
 * The push `param` of test/fixtures/carriers/kuaidi100-push-param.json (its one line, without the final newline)
 * and its sign with salt `s4ltS4ltS4lt`, computed apart from this code with Python and coreutils:
 *   python3 -c "import hashlib; p=open('kuaidi100-push-param.json', encoding='utf-8').read().rstrip('\n');
 *               print(hashlib.md5((p + 's4ltS4ltS4lt').encode('utf-8')).hexdigest().upper())"
 *   printf '%s' "$(cat kuaidi100-push-param.json)s4ltS4ltS4lt" | md5sum     (the same digits, lower case)
 */
const PARAM = readFileSync(new URL('../fixtures/carriers/kuaidi100-push-param.json', import.meta.url), 'utf8').replace(/\n$/, '');
const SALT = 's4ltS4ltS4lt';
const SIGN = '0D953BADAD9F1F9FAE2FFBDD4658AA8E';

const form = (fields: Record<string, string>) => Buffer.from(new URLSearchParams(fields).toString(), 'utf8');
const receiver = kuaidi100PushReceiver(SALT);

describe('kuaidi100 push sign', () => {
  it('is UPPER(hex MD5(param + salt)) over the UTF-8 of the exact param', () => {
    expect(kuaidi100PushSign(PARAM, SALT)).toBe(SIGN);
  });

  it('accepts a signed push, with the reply Kuaidi100 counts as received, and reads it as a poll answer', () => {
    const r = receiver.read(form({ param: PARAM, sign: SIGN }));
    expect(r.verified).toBe(true);
    expect(r.reply).toEqual({ status: 200, contentType: 'application/json', body: '{"result":true,"returnCode":"200","message":"成功"}' });
    if (!r.verified) return;
    expect(r.push).toMatchObject({ trackingNumber: 'YT6186594166532', ended: false });
    expect(r.push.snapshot?.status).toBe('out_for_delivery');
    // Pushed newest first; stored oldest first, each event mapped by its status name.
    expect(r.push.snapshot?.events.map((e) => [e.at.toISOString(), e.status])).toEqual([
      ['2025-03-09T10:30:05.000Z', 'info_received'],
      ['2025-03-10T01:12:00.000Z', 'out_for_delivery'],
    ]);
    // Hex digits are the same in either case.
    expect(receiver.read(form({ param: PARAM, sign: SIGN.toLowerCase() })).verified).toBe(true);
  });

  it('refuses a wrong, missing or truncated sign, another salt, and a param changed after signing', () => {
    const refusals = [
      form({ param: PARAM, sign: '0'.repeat(32) }),
      form({ param: PARAM }),
      form({ param: PARAM, sign: SIGN.slice(0, 31) }),
      form({ param: PARAM, sign: kuaidi100PushSign(PARAM, 'another-salt') }),
      form({ param: PARAM.replace('"state":"5"', '"state":"3"'), sign: SIGN }),
      Buffer.from('not a form at all'),
    ];
    for (const body of refusals) {
      const r = receiver.read(body);
      expect(r.verified, body.toString()).toBe(false);
      expect(r.reply.status).toBe(400);
      expect(JSON.parse(r.reply.body)).toMatchObject({ result: false, returnCode: '400' });
    }
  });

  it('reads an abort without news as the end of the subscription (renewable only for want of records), unless Kuaidi100 follows on under a corrected com', () => {
    const signed = (p: object) => {
      const param = JSON.stringify(p);
      return form({ param, sign: kuaidi100PushSign(param, SALT) });
    };
    const lastResult = { message: 'ok', state: '0', status: '200', ischeck: '0', com: 'yuantong', nu: 'YT1', data: [] };
    const abort = receiver.read(signed({ status: 'abort', billstatus: '', message: '3天查询无记录', autoCheck: '0', comOld: '', comNew: '', lastResult }));
    expect(abort.verified && abort.push).toEqual({ trackingNumber: 'YT1', snapshot: null, ended: true, renewable: true, coms: ['yuantong'] });
    const stale = receiver.read(signed({ status: 'abort', billstatus: '', message: '60天无变化', lastResult }));
    expect(stale.verified && stale.push).toEqual({ trackingNumber: 'YT1', snapshot: null, ended: true, coms: ['yuantong'] });
    const corrected = receiver.read(signed({ status: 'abort', message: '', autoCheck: '0', comOld: '', comNew: 'yunda', lastResult }));
    expect(corrected.verified && corrected.push).toEqual({ trackingNumber: 'YT1', snapshot: null, ended: false, carrierCom: 'yunda', coms: ['yuantong', 'yunda'] });
    const signedFor = receiver.read(
      signed({
        status: 'shutdown',
        lastResult: { ...lastResult, state: '3', data: [{ context: '已签收', ftime: '2025-03-10 12:00:00', status: '签收' }] },
      }),
    );
    expect(signedFor.verified && signedFor.push).toMatchObject({ ended: true, snapshot: { status: 'delivered' } });
    expect(signedFor.verified && signedFor.push).not.toHaveProperty('renewable');
    // Signed but not a push: refused all the same.
    expect(receiver.read(signed({ status: 'polling' })).verified).toBe(false);
  });
});
