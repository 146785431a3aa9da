import childProcess from 'node:child_process';
import dns from 'node:dns';
import { syncBuiltinESMExports } from 'node:module';
import net from 'node:net';

/**
 * Setup of the `unit` project: test/unit does no I/O, so any attempt to open a socket, resolve a name or start
 * a process fails the test that made it, naming what it tried. (File reads stay allowed: modules load that way.)
 */
const refuse = (what: string) => () => {
  throw new Error(`test/unit does no I/O, but this test tried ${what}: move it to test/integration or pass a fake`);
};

net.Socket.prototype.connect = refuse('to open a socket (Postgres, Redis, HTTP)') as never;
for (const name of ['lookup', 'resolve', 'resolve4', 'resolve6'] as const) {
  dns[name] = refuse('to resolve a host name') as never;
  dns.promises[name] = refuse('to resolve a host name') as never;
}
for (const name of ['spawn', 'spawnSync', 'exec', 'execSync', 'execFile', 'execFileSync', 'fork'] as const) {
  childProcess[name] = refuse('to start a process') as never;
}
// ES module imports of node:dns and friends are bindings to these objects' properties: refresh them.
syncBuiltinESMExports();
