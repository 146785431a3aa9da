import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Subscription {
  form: URLSearchParams;
  param: any;
}

/** How many subscriptions of one company and number Kuaidi100 takes in a month; past them it answers 501. */
const SUBSCRIPTIONS_A_MONTH = 4;

/**
 * Kuaidi100 on 127.0.0.1:0, as far as orderworks uses it: the subscription API (`POST /poll`: records each
 * request; a company and number it still follows, or subscribed too often this month, is answered 501, as
 * Kuaidi100 does; `end` stops following one, as its `abort`/`shutdown` does), number recognition
 * (`/autonumber/auto?num=&key=`: the `comCode` set in `coms`, else an empty list) and the real-time query
 * (`POST /poll/query.do`: the answer set in `answers` for the number, else `queryAnswer`, by default "no result
 * yet"). Pushes are the test's to send.
 */
export async function startKuaidi100Fake() {
  const fake = {
    url: '',
    subscriptions: [] as Subscription[],
    recognitions: [] as string[],
    queries: [] as URLSearchParams[],
    coms: new Map<string, string>(),
    answers: new Map<string, object>(),
    following: new Set<string>(),
    /** Kuaidi100 stops following the waybill (the test then sends the `abort` or `shutdown` push). */
    end: (company: string, number: string) => void fake.following.delete(`${company}:${number}`),
    subscriptionsOf: (number: string) => fake.subscriptions.filter((s) => s.param.number === number),
    queriesOf: (number: string) => fake.queries.filter((q) => JSON.parse(q.get('param') ?? '{}').num === number),
    subscribeAnswer: { result: true, returnCode: '200', message: '提交成功' } as object,
    queryAnswer: { result: false, returnCode: '500', message: '查询无结果，请隔段时间再查' } as object,
    close: () => undefined as void,
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://fake');
      const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
      const answer = (body: unknown) => res.writeHead(200, { 'content-type': 'application/json;charset=UTF-8' }).end(JSON.stringify(body));
      if (req.method !== 'POST') return res.writeHead(405).end();
      if (url.pathname === '/poll') {
        const param = JSON.parse(form.get('param') ?? '{}');
        const key = `${param.company}:${param.number}`;
        const before = fake.subscriptions.filter((s) => `${s.param.company}:${s.param.number}` === key).length;
        fake.subscriptions.push({ form, param });
        if (fake.following.has(key) || before >= SUBSCRIPTIONS_A_MONTH) return answer({ result: false, returnCode: '501', message: '重复订阅' });
        if ((fake.subscribeAnswer as { returnCode?: string }).returnCode === '200') fake.following.add(key);
        return answer(fake.subscribeAnswer);
      }
      if (url.pathname === '/autonumber/auto') {
        const num = url.searchParams.get('num') ?? '';
        fake.recognitions.push(num);
        if (!url.searchParams.get('key')) return answer({ result: false, returnCode: '701', message: 'key缺失' });
        const com = fake.coms.get(num);
        return answer(com ? [{ lengthPre: num.length, comCode: com, name: com }] : []);
      }
      if (url.pathname === '/poll/query.do') {
        fake.queries.push(form);
        return answer(fake.answers.get(JSON.parse(form.get('param') ?? '{}').num) ?? fake.queryAnswer);
      }
      res.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  fake.close = () => {
    server.closeAllConnections();
    server.close();
  };
  return fake;
}

/** The settings of a deployment whose Kuaidi100 account (queries, number recognition) is `fakeUrl`, with push on. */
export const kuaidi100PushEnv = (fakeUrl: string, salt: string): Record<string, string> => ({
  KUAIDI100_BASE_URL: fakeUrl,
  KUAIDI100_AUTONUMBER_BASE_URL: fakeUrl,
  KUAIDI100_CUSTOMER: 'CUST0001',
  KUAIDI100_KEY: 'kEyAbC123',
  KUAIDI100_PUSH_BASE_URL: 'https://orderworks.example/',
  KUAIDI100_PUSH_SALT: salt,
});
