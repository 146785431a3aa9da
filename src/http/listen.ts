import type { Server } from 'node:http';

/** Listens on `port` (0: any free one) and resolves to the port taken, or rejects (port in use...). */
export function listenOn(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, () => {
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : port);
    });
  });
}
