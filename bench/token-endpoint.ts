// A minimal RFC 8693 token endpoint for the bench's token-exchange rows, in the runner's own
// process on loopback: every POST answers the same access token for an hour. It checks nothing,
// since only the gateway's cache hits are measured (one exchange per gateway, at its first
// call); `calls` says how many exchanges the gateway made.

import { createServer } from 'node:http';

export interface TokenEndpoint {
  readonly port: number;
  /** POSTs answered so far */
  readonly calls: number;
  close(): Promise<void>;
}

const ANSWER = JSON.stringify({
  access_token: 'bench-exchanged-token',
  issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
  token_type: 'Bearer',
  expires_in: 3600,
});

export async function startTokenEndpoint(): Promise<TokenEndpoint> {
  let calls = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.method !== 'POST') {
        res.writeHead(405).end();
        return;
      }
      calls++;
      res.writeHead(200, { 'content-type': 'application/json' }).end(ANSWER);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('token endpoint is not listening on TCP');
  return {
    port: address.port,
    get calls() {
      return calls;
    },
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
