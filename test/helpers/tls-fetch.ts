// Clients of an https gateway whose certificate a test CA signed: a fetch trusting that CA (for
// the SDK client), and the certificate a TLS handshake naming a server (SNI) is answered with.
import { connect, type PeerCertificate } from 'node:tls';
import { Agent } from 'undici';
import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { CleanupHost } from './files.js';

/** fetch trusting `caPem` (besides nothing else); its connections are closed when the test ends. */
export function fetchTrusting(t: CleanupHost, caPem: string): FetchLike {
  const dispatcher = new Agent({ connect: { ca: caPem } });
  t.after(() => dispatcher.close());
  // Node's fetch takes the npm package's dispatchers; their types and Node's (undici-types)
  // differ in declarations only, which Object.assign's intersection type spans.
  return (url, init) => fetch(url, Object.assign({}, init, { dispatcher }));
}

/** The certificate the server at 127.0.0.1:`port` presents to a client naming `servername` (none: no SNI). */
export function peerCertificate(port: number, servername: string | undefined, caPem: string): Promise<PeerCertificate> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ...(servername === undefined ? {} : { servername }), ca: caPem, rejectUnauthorized: false }, () => {
      const cert = socket.getPeerCertificate();
      socket.end();
      resolve(cert);
    });
    socket.on('error', reject);
  });
}
