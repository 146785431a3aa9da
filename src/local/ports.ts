import { createServer } from 'node:net';
import { StartError } from './start-error.js';

/** A TCP port on 127.0.0.1 that nothing listens on right now (the caller binds it soon after). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Binds `port` the way the web process will (every address) and lets it go again, so a port that is taken
 * is reported before anything else starts rather than after a minute of starting services.
 */
export async function assertPortFree(port: number): Promise<void> {
  if (port === 0) return;
  await new Promise<void>((resolve, reject) => {
    const srv = createServer();
    srv.once('error', (error: NodeJS.ErrnoException) => reject(portError(port, error)));
    srv.listen(port, () => srv.close(() => resolve()));
  });
}

/** The one-line message for a web port that cannot be bound; other errors pass through unchanged. */
export function portError(port: number, error: NodeJS.ErrnoException): Error {
  if (error.code === 'EADDRINUSE') {
    return new StartError(`port ${port} is already in use (another orderworks, or another program): stop it, or choose another port with PORT=...`);
  }
  if (error.code === 'EACCES') return new StartError(`port ${port} needs privileges this user does not have: choose another with PORT=...`);
  return error;
}
