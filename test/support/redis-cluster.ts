import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '../../src/local/local-services.js';
import { exited, sleep } from './processes.js';

/** One line of `CLUSTER NODES`, as a test needs it. */
export interface ClusterNode {
  id: string;
  port: number;
  master: boolean;
  failed: boolean;
  /** The master's id, for a replica. */
  masterId: string | null;
  slots: Array<[number, number]>;
}

export interface RedisCluster {
  /** Every node, masters first (the seeds a client is given). */
  nodes: string[];
  cli(port: number, ...args: string[]): string;
  /** The cluster as `port` sees it. */
  clusterNodes(port?: number): ClusterNode[];
  /** The port of the master that owns `slot` now, as a live node says; null while none does (a failover). */
  ownerOf(slot: number): number | null;
  /** Kills one node at once (SIGKILL): a machine lost, not a clean stop. */
  kill(port: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A throwaway Redis Cluster on free loopback ports, for scale-out tests: three masters, and with `replicas: 1`
 * a replica each (six nodes), with a short `cluster-node-timeout` so that a replica takes over a killed master
 * within seconds. Slots are laid out as `redis-cli --cluster create` does: three equal ranges, in port order.
 */
export async function startRedisCluster(opts: { replicas?: 0 | 1; nodeTimeoutMs?: number } = {}): Promise<RedisCluster> {
  const replicas = opts.replicas ?? 0;
  const dir = mkdtempSync(path.join(tmpdir(), 'ow-cluster-'));
  const ports: number[] = [];
  for (let i = 0; i < 3 * (1 + replicas); i++) ports.push(await freePort());
  const servers = new Map<number, ChildProcess>(ports.map((port) => [port, spawn('redis-server', [
    '--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`,
    '--cluster-node-timeout', String(opts.nodeTimeoutMs ?? 2_000),
    '--dir', dir, '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction',
  ], { stdio: 'ignore' })]));
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
  execFileSync('redis-cli', ['--cluster', 'create', ...nodes, '--cluster-replicas', String(replicas), '--cluster-yes'], { stdio: 'ignore' });
  const clusterNodes = (port = [...servers.keys()][0]!) => parseNodes(cli(port, 'cluster', 'nodes'));
  // Ready when every node sees the cluster ok and every replica has its master's data.
  for (let i = 0; ; i++) {
    const ok = ports.every((p) => cli(p, 'cluster', 'info').includes('cluster_state:ok'));
    const synced = clusterNodes().filter((n) => !n.master).every((n) => cli(n.port, 'info', 'replication').includes('master_link_status:up'));
    if (ok && synced && clusterNodes().filter((n) => !n.master).length === 3 * replicas) break;
    if (i > 600) throw new Error('the cluster did not reach cluster_state:ok');
    await sleep(100);
  }
  return {
    nodes,
    cli,
    clusterNodes,
    ownerOf(slot) {
      const owner = clusterNodes().find((n) => n.master && !n.failed && n.slots.some(([from, to]) => slot >= from && slot <= to));
      return owner?.port ?? null;
    },
    async kill(port) {
      const server = servers.get(port);
      if (!server) throw new Error(`no node on ${port}`);
      servers.delete(port);
      server.kill('SIGKILL');
      await exited(server);
    },
    async stop() {
      for (const s of servers.values()) s.kill('SIGTERM');
      await Promise.all([...servers.values()].map(exited));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function parseNodes(text: string): ClusterNode[] {
  return text.split('\n').filter(Boolean).map((line) => {
    const [id, address, flags, master, , , , , ...slots] = line.split(' ');
    const flagSet = new Set(flags!.split(','));
    return {
      id: id!,
      port: Number(address!.split('@')[0]!.split(':')[1]),
      master: flagSet.has('master'),
      failed: flagSet.has('fail') || flagSet.has('fail?'),
      masterId: master === '-' ? null : master!,
      slots: slots.filter((s) => /^\d+(-\d+)?$/.test(s)).map((s) => {
        const [from, to] = s.split('-').map(Number);
        return [from!, to ?? from!] as [number, number];
      }),
    };
  });
}
