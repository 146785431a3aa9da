import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DemoError } from './demo-api.js';

export interface DemoOptions {
  url: string;
  admin: { user: string; password: string };
  /** Orders submitted per second. */
  rate: number;
  /** The demo stops submitting after `count` orders, and stops altogether after `seconds`. */
  count: number;
  seconds: number;
}

const USAGE = 'usage: npm run demo -- [--url http://127.0.0.1:3000] [--admin user:password] [--rate 20] [--count 500] [--seconds 60]';

/**
 * Flags first, then DEMO_* variables, then defaults. The admin credentials default to what local-mode
 * `npm start` wrote into .data/admin.json, then to ADMIN_USER/ADMIN_PASSWORD.
 */
export function parseDemoOptions(argv: string[], env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): DemoOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { url: { type: 'string' }, admin: { type: 'string' }, rate: { type: 'string' }, count: { type: 'string' }, seconds: { type: 'string' } },
    }));
  } catch (error) {
    throw new DemoError(`${(error as Error).message}\n${USAGE}`);
  }
  const url = (values.url ?? env.DEMO_URL ?? 'http://127.0.0.1:3000').replace(/\/+$/, '');
  if (!/^https?:\/\/[^/]+/.test(url)) throw new DemoError(`--url must be an http(s) URL, got "${url}"`);
  return {
    url,
    admin: adminOf(values.admin ?? env.DEMO_ADMIN, env, cwd),
    rate: positive('rate', values.rate ?? env.DEMO_RATE, 20),
    count: positive('count', values.count ?? env.DEMO_COUNT, 500),
    seconds: positive('seconds', values.seconds ?? env.DEMO_SECONDS, 60),
  };
}

function positive(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new DemoError(`--${name} must be a positive number, got "${raw}"`);
  return n;
}

function adminOf(given: string | undefined, env: NodeJS.ProcessEnv, cwd: string): DemoOptions['admin'] {
  if (given !== undefined) {
    const at = given.indexOf(':');
    if (at < 1) throw new DemoError('--admin must be user:password');
    return { user: given.slice(0, at), password: given.slice(at + 1) };
  }
  try {
    const saved = JSON.parse(readFileSync(path.join(cwd, '.data', 'admin.json'), 'utf8'));
    if (typeof saved.user === 'string' && typeof saved.password === 'string') return { user: saved.user, password: saved.password };
  } catch {
    // No local-mode credentials: fall through to the environment.
  }
  if (env.ADMIN_USER && env.ADMIN_PASSWORD) return { user: env.ADMIN_USER, password: env.ADMIN_PASSWORD };
  throw new DemoError('no admin credentials: pass --admin user:password (or run `npm start` in local mode, which writes .data/admin.json)');
}
