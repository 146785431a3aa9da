import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

/**
 * The top self-time items of `--cpu-prof` profiles (`BENCH_CPU_PROF_DIR`): `node --import tsx bench/profile-top.ts
 * <dir or .cpuprofile> [count]`. Each profile's samples are summed by function and place (file:line), idle and
 * garbage collection included as V8 names them; the share is of the profile's busy time (everything but idle).
 * A second list sums them by package: native functions and Node's own (`writev`, `node:net`) are counted under
 * the nearest caller in a package or in our code (pg's socket writes under pg), so "how much is Express,
 * Sequelize, ioredis" reads at a glance.
 */
interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const files = (target: string): string[] =>
  statSync(target).isDirectory()
    ? readdirSync(target).flatMap((f) => files(path.join(target, f)))
    : target.endsWith('.cpuprofile') ? [target] : [];

function place(n: ProfileNode): string {
  const { functionName, url, lineNumber } = n.callFrame;
  const file = url.replace(/^file:\/\//, '').replace(/^.*\/node_modules\//, '').replace(/^.*\/(src|dist|bench|workers|jobs|bin)\//, '$1/');
  return `${functionName || '(anonymous)'} ${file ? `${file}:${lineNumber + 1}` : ''}`.trim();
}

/** node_modules package, `node:` internals, our own folder (src, bench...), or V8's own entries. */
function owner(n: ProfileNode | undefined, parent: Map<number, ProfileNode>): string {
  for (let at = n; at; at = parent.get(at.id)) {
    const url = at.callFrame.url;
    if (!url) {
      if (at === n && /^\(/.test(at.callFrame.functionName)) return at.callFrame.functionName; // (garbage collector), (program)
      continue;
    }
    if (url.startsWith('node:')) continue;
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1];
    if (pkg) return pkg;
    return /\/(src|dist\/src|bench|workers|jobs|bin)\//.exec(url)?.[1]?.replace('dist/', '') ?? url;
  }
  return 'node core, called from the event loop (HTTP parsing, socket reads, timers)';
}

const [target, countArg] = process.argv.slice(2);
if (!target) throw new Error('usage: bench/profile-top.ts <dir or .cpuprofile> [count]');
for (const file of files(target)) {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, ProfileNode>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n);
  const self = new Map<string, number>();
  const packages = new Map<string, number>();
  let busy = 0;
  profile.samples.forEach((id, i) => {
    const key = place(byId.get(id)!);
    const us = profile.timeDeltas[i] ?? 0;
    self.set(key, (self.get(key) ?? 0) + us);
    if (key === '(idle)') return;
    busy += us;
    const pkg = owner(byId.get(id), parent);
    packages.set(pkg, (packages.get(pkg) ?? 0) + us);
  });
  process.stdout.write(`\n${file}: busy ${(busy / 1e6).toFixed(1)} s\n`);
  const top = (m: Map<string, number>) => [...m].filter(([k]) => k !== '(idle)').sort((a, b) => b[1] - a[1]).slice(0, Number(countArg ?? 25));
  for (const [key, us] of top(self)) process.stdout.write(`${((100 * us) / busy).toFixed(1).padStart(5)} %  ${(us / 1e3).toFixed(0).padStart(7)} ms  ${key}\n`);
  process.stdout.write('by package (native calls under their caller):\n');
  for (const [key, us] of top(packages)) process.stdout.write(`${((100 * us) / busy).toFixed(1).padStart(5)} %  ${(us / 1e3).toFixed(0).padStart(7)} ms  ${key}\n`);
}
