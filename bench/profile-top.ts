import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

/**
 * The top self-time items of `--cpu-prof` profiles (`BENCH_CPU_PROF_DIR`): `node --import tsx bench/profile-top.ts
 * <dir or .cpuprofile> [count]`. Each profile's samples are summed by function and place (file:line), idle and
 * garbage collection included as V8 names them; the share is of the profile's busy time (everything but idle).
 */
interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
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

const [target, countArg] = process.argv.slice(2);
if (!target) throw new Error('usage: bench/profile-top.ts <dir or .cpuprofile> [count]');
for (const file of files(target)) {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  let busy = 0;
  profile.samples.forEach((id, i) => {
    const key = place(byId.get(id)!);
    const us = profile.timeDeltas[i] ?? 0;
    self.set(key, (self.get(key) ?? 0) + us);
    if (key !== '(idle)') busy += us;
  });
  process.stdout.write(`\n${file}: busy ${(busy / 1e6).toFixed(1)} s\n`);
  for (const [key, us] of [...self].filter(([k]) => k !== '(idle)').sort((a, b) => b[1] - a[1]).slice(0, Number(countArg ?? 25))) {
    process.stdout.write(`${((100 * us) / busy).toFixed(1).padStart(5)} %  ${(us / 1e3).toFixed(0).padStart(7)} ms  ${key}\n`);
  }
}
