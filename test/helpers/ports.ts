// A TCP port nothing listens on right now, for servers that must be told their port (a child
// process, or gateways that share one port): the kernel does not let a second socket join a port
// it picked for the first one.
import { createServer } from 'node:net';

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
