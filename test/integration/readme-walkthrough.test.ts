import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/local/local-services.js';
import { ADMIN, startSystem, type TestSystem } from '../support/system.js';

/**
 * The README's walk-through, run as a newcomer runs it: the first `sh` block under "## Walk-through", pasted
 * into a POSIX shell against a running orderworks. What is checked is what that newcomer reads on the terminal.
 */

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function walkThrough(heading = 'Walk-through'): string {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const section = readme.indexOf(`\n## ${heading}\n`);
  const start = readme.indexOf('\n```sh\n', section);
  const end = readme.indexOf('\n```\n', start + 1);
  if (section < 0 || start < 0 || end < 0) throw new Error(`README.md: no \`\`\`sh block under "## ${heading}"`);
  return readme.slice(start + '\n```sh\n'.length, end + 1);
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the block with `sh` in `cwd` with only the environment given (and PATH). The block bounds its own waits. */
function runBlock(block: string, cwd: string, env: Record<string, string>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', block], { cwd, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: cwd, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The JSON documents the block printed, each one pretty-printed from a line `{` to a line `}`. */
function printedJson(stdout: string): any[] {
  const docs: any[] = [];
  let open: string[] | null = null;
  for (const line of stdout.split('\n')) {
    if (line === '{') open = [];
    if (open) open.push(line);
    if (line === '}' && open) {
      docs.push(JSON.parse(open.join('\n')));
      open = null;
    }
  }
  return docs;
}

/** The commands a block runs beyond curl, node, the shell's own and the functions it defines. */
function commandsBeyondShell(block: string): string[] {
  // Quoted text is data (node programs, JSON bodies, messages), comments are prose: the rest names commands.
  const code = block
    .split('\n')
    .filter((l) => !/^\s*#/.test(l))
    .join('\n')
    .replace(/'[^']*'/g, "''")
    .replace(/"[^"]*"/g, '""');
  const commands = new Set(code.split('\n').flatMap((l) => [...l.matchAll(/(?:^|[|;(]|\$\(|&&|\|\|)\s*([a-z][\w-]*)\b(?!=)/g)].map((m) => m[1]!)));
  const shell = ['set', 'case', 'esac', 'for', 'do', 'done', 'in', 'return', 'exit', 'echo', 'printf', 'sleep', 'shift', 'then', 'fi', 'if', 'break', 'read', 'trap', 'kill'];
  const functions = [...block.matchAll(/^([a-z_]+)\(\)/gm)].map((m) => m[1]!);
  return [...commands].filter((c) => !['curl', 'node', ...shell, ...functions].includes(c));
}

let sys: TestSystem;
let dir: string;

beforeAll(async () => {
  sys = await startSystem();
  dir = mkdtempSync(path.join(tmpdir(), 'walkthrough-'));
}, 60_000);
afterAll(async () => {
  await sys?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the README walk-through', () => {
  const block = walkThrough();

  it('uses nothing but curl, node and a POSIX shell', () => {
    expect(commandsBeyondShell(block)).toEqual([]);
  });

  it('pays a QR order as the buyer would, waits for each state, shows the ledger, ships and refunds', async () => {
    const run = await runBlock(block, dir, { ORDERWORKS_URL: sys.base, ADMIN_USER: ADMIN.user, ADMIN_PASSWORD: ADMIN.password });
    expect(run.code, `${run.stderr}\n${run.stdout}`).toBe(0);
    expect(run.stderr).toBe('');
    const docs = printedJson(run.stdout);
    const orders = docs.filter((d) => d.payment);
    expect(orders[0]).toMatchObject({ status: 'placed', totalMinor: 3998, payment: { status: 'action_required', action: { type: 'qr_code' } } });
    expect(run.stdout).toContain(`the shop shows this QR code: ${orders[0].payment.action.qrContent}`);
    expect(run.stdout).toMatch(new RegExp(`the buyer pays at ${sys.base}/sandbox/checkout/[^/?\\s]+\\n`));
    expect(orders[1]).toMatchObject({ status: 'paid', payment: { status: 'captured', capturedMinor: 3998, action: null } });
    const ledgers = docs.filter((d) => Array.isArray(d.data));
    expect(ledgers.map((l) => l.data.map((c: any) => [c.status, c.amountMinor, c.refundedMinor]))).toEqual([
      [['captured', 3998, 0]],
      [['partially_refunded', 3998, 1000]],
    ]);
    expect(docs).toContainEqual(expect.objectContaining({ carrier: 'sandbox', trackingNumber: 'SBX-1001' }));
    expect(docs).toContainEqual(expect.objectContaining({ amountMinor: 1000, reason: 'damaged box' }));
    expect(orders.at(-1)).toMatchObject({ status: 'shipped', payment: { status: 'partially_refunded', refundedMinor: 1000 } });
    expect(run.stdout).toMatch(/walk-through done: order [0-9a-f-]{36} paid by QR code/);
  }, 180_000);

  it('stops at once, saying so, when the admin password saved by npm start is wrong', async () => {
    const checkout = path.join(dir, 'checkout');
    mkdirSync(path.join(checkout, '.data'), { recursive: true });
    writeFileSync(path.join(checkout, '.data', 'admin.json'), JSON.stringify({ user: ADMIN.user, password: 'not-the-password' }));
    const run = await runBlock(block, checkout, { ORDERWORKS_URL: sys.base });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain(`walk-through stopped: orderworks refused the admin login "${ADMIN.user}"`);
    expect(run.stderr + run.stdout).not.toMatch(/API key/i);
    expect(run.stdout).toBe('');
  }, 60_000);

  it('says where the admin login comes from when it has none', async () => {
    const run = await runBlock(block, dir, { ORDERWORKS_URL: sys.base });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain('walk-through stopped: no admin login');
  }, 60_000);

  it('says orderworks is not running when nothing answers', async () => {
    const run = await runBlock(block, dir, { ORDERWORKS_URL: `http://127.0.0.1:${await freePort()}`, ADMIN_USER: 'x', ADMIN_PASSWORD: 'y' });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain('is npm start running?');
  }, 60_000);
});

describe('the README walk-through of parcels, delays and returns', () => {
  const block = walkThrough('Walk-through: parcels, delays and returns');
  let parcels: TestSystem;
  beforeAll(async () => {
    // As the README says to start it: parcels moving a step per refresh (faster here than its 2 s), and, as npm
    // start's local mode does, webhooks allowed to a local endpoint.
    parcels = await startSystem({ env: { TRACKING_REFRESH_EVERY_MS: '400', WEBHOOK_ALLOW_PRIVATE_NETWORKS: '1' } });
  }, 60_000);
  afterAll(async () => parcels?.close());

  it('uses nothing but curl, node and a POSIX shell', () => {
    expect(commandsBeyondShell(block)).toEqual([]);
  });

  it('delivers a parcel after a failed attempt, flags a late one with one webhook, refunds and restocks a return', async () => {
    const cwd = mkdtempSync(path.join(tmpdir(), 'walkthrough-parcels-'));
    try {
      const run = await runBlock(block, cwd, { ORDERWORKS_URL: parcels.base, ADMIN_USER: ADMIN.user, ADMIN_PASSWORD: ADMIN.password });
      expect(run.code, `${run.stderr}\n${run.stdout}`).toBe(0);
      expect(run.stderr).toBe('');
      expect(run.stdout).toMatch(/order [0-9a-f-]{36} delivered: info_received -> in_transit -> out_for_delivery -> failed_attempt -> out_for_delivery -> delivered\n/);
      const docs = printedJson(run.stdout);
      const late = docs.find((d) => Array.isArray(d.data) && d.data[0]?.trackingNumber === 'SBX-LATE-1');
      expect(late.data).toEqual([expect.objectContaining({ trackingNumber: 'SBX-LATE-1', status: 'in_transit', delayed: true, delayedSince: expect.any(String) })]);
      expect(run.stdout).toMatch(/shipment\.delayed webhooks delivered for order [0-9a-f-]{36}: 1\n/);
      expect(docs).toContainEqual({
        id: expect.any(String), status: 'received', receivedBy: 'parcel', amountMinor: 2500,
        refund: { id: expect.any(String), amountMinor: 2500, status: 'succeeded' },
        parcel: expect.objectContaining({ trackingNumber: 'SBX-BACK-1', status: 'delivered' }),
      });
      // 10 stocked, 3 orders of 2 sold, 1 back.
      expect(docs.filter((d) => d.sku === 'MUG-001').map((d) => d.stock)).toEqual([10, 5]);
      expect(docs.find((d) => Array.isArray(d.data) && d.data[0]?.refundedMinor !== undefined).data).toEqual([
        expect.objectContaining({ status: 'partially_refunded', amountMinor: 5000, refundedMinor: 2500 }),
      ]);
      expect(run.stdout).toMatch(/walk-through done: a parcel delivered after a failed attempt/);
      // Its webhook endpoint stopped with it, and took its port file along.
      expect(readdirSync(cwd)).toEqual([]);
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  }, 240_000);
});
