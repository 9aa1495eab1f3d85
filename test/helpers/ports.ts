// A TCP port nothing listens on right now, for servers that must be told their port (a child
// process, or gateways that share one port): the kernel does not let a second socket join a port
// it picked for the first one.
import { createServer, type Server } from 'node:net';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    // all interfaces: free there is free on loopback too
    server.listen(0, () => {
      const address = server.address();
      server.close(() => (address === null || typeof address === 'string' ? reject(new Error('no TCP port')) : resolve(address.port)));
    });
  });
}

/** Listens on 127.0.0.1 (`port` 0: one the kernel picks) and gives the port. */
export function listenLocal(server: Server, port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      const address = server.address();
      if (address === null || typeof address === 'string') reject(new Error('not a TCP address'));
      else resolve(address.port);
    });
  });
}

export interface HeldPort {
  readonly port: number;
  /** Frees the port; idempotent. */
  close(): Promise<void>;
}

/** A port taken by a listening socket on `host` (without SO_REUSEPORT, so nothing can join it),
 * for what must fail to listen there; freed when `t` ends, or before by close(). */
export async function holdPort(t: { after(fn: () => Promise<void>): void }, host = '127.0.0.1'): Promise<HeldPort> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('not a TCP address');
  let closed: Promise<void> | null = null;
  const close = (): Promise<void> => (closed ??= new Promise<void>((resolve) => server.close(() => resolve())));
  t.after(close);
  return { port: address.port, close };
}
