import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '../../src/local/local-services.js';
import { exited, sleep } from './processes.js';

/** A throwaway three-master Redis Cluster on free loopback ports, for scale-out tests. */
export async function startRedisCluster(): Promise<{ nodes: string[]; stop(): Promise<void> }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'ow-cluster-'));
  const ports = [await freePort(), await freePort(), await freePort()];
  const servers: ChildProcess[] = ports.map((port) =>
    spawn('redis-server', [
      '--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`,
      '--dir', dir, '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction',
    ], { stdio: 'ignore' }),
  );
  const nodes = ports.map((p) => `127.0.0.1:${p}`);
  const cli = (port: number, ...args: string[]) => execFileSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8' });
  for (const port of ports) {
    for (let i = 0; ; i++) {
      try {
        if (cli(port, 'ping').trim() === 'PONG') break;
      } catch {
        if (i > 300) throw new Error(`redis-server on ${port} did not start`);
      }
      await sleep(100);
    }
  }
  execFileSync('redis-cli', ['--cluster', 'create', ...nodes, '--cluster-replicas', '0', '--cluster-yes'], { stdio: 'ignore' });
  for (let i = 0; !cli(ports[0]!, 'cluster', 'info').includes('cluster_state:ok'); i++) {
    if (i > 600) throw new Error('the cluster did not reach cluster_state:ok');
    await sleep(100);
  }
  return {
    nodes,
    async stop() {
      for (const s of servers) s.kill('SIGTERM');
      await Promise.all(servers.map(exited));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
