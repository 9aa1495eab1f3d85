// The OTLP/HTTP collector of the bench's tracing row, in the runner's own process on loopback:
// it reads each export to its end and answers an empty ExportTraceServiceResponse (success),
// decoding nothing (the gateway's cost is what is measured); `exports` and `bytes` say how much
// the gateway sent.

import { createServer } from 'node:http';

export interface OtlpSink {
  readonly port: number;
  /** export requests answered so far, and their bytes */
  readonly exports: number;
  readonly bytes: number;
  close(): Promise<void>;
}

export async function startOtlpSink(): Promise<OtlpSink> {
  let exports = 0;
  let bytes = 0;
  const server = createServer((req, res) => {
    req.on('data', (chunk: Buffer) => {
      bytes += chunk.byteLength;
    });
    req.on('end', () => {
      exports++;
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('OTLP sink is not listening on TCP');
  return {
    port: address.port,
    get exports() {
      return exports;
    },
    get bytes() {
      return bytes;
    },
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
