// The uWS front shared by the bench's two bare relays — bare-proxy.ts (undici) and
// socket-relay.ts (a minimal client on net.Socket) — so that their rows differ only in the
// upstream client: every POST's headers (hop-by-hop ones and the token left out) and body go to
// `forward`, and its answer leaves in one corked write; a failure is a 502.

import { loadNativeUws } from './uws-native.js';

export type HeaderPairs = ReadonlyArray<readonly [string, string]>;

export interface Answer {
  readonly status: string;
  readonly contentType: string | null;
  readonly body: Buffer | ArrayBuffer;
}

/** Relays one request; calls `answer` or `fail` exactly once. */
export type Forward = (headers: HeaderPairs, body: Buffer, answer: (a: Answer) => void, fail: () => void) => void;

const skipped = new Set(['host', 'connection', 'keep-alive', 'content-length', 'transfer-encoding', 'authorization', 'te', 'upgrade']);

export function arg(flag: string): string | undefined {
  const i = process.argv.indexOf(flag);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** Listens on 127.0.0.1:port, prints `<name> listening on <port>`, stops on SIGTERM/SIGINT. */
export function runRelayFront(name: string, port: number, forward: Forward, close: () => Promise<void> = () => Promise.resolve()): void {
  const uws = loadNativeUws();
  const app = uws.App();
  app.post('/*', (res, req) => {
    const headers: Array<readonly [string, string]> = [];
    req.forEach((k, v) => {
      if (!skipped.has(k)) headers.push([k, v]);
    });
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });
    const chunks: Buffer[] = [];
    res.onData((chunk, isLast) => {
      chunks.push(Buffer.from(chunk.slice(0)));
      if (!isLast) return;
      forward(
        headers,
        Buffer.concat(chunks),
        (a) => {
          if (aborted) return;
          res.cork(() => {
            res.writeStatus(a.status);
            if (a.contentType !== null) res.writeHeader('content-type', a.contentType);
            res.end(a.body);
          });
        },
        () => {
          if (!aborted) res.cork(() => res.writeStatus('502 Bad Gateway').end());
        },
      );
    });
  });
  app.listen('127.0.0.1', port, (socket) => {
    if (socket === false) {
      process.stderr.write(`${name}: could not listen on ${port}\n`);
      process.exit(1);
    }
    process.stdout.write(`${name} listening on ${uws.us_socket_local_port(socket)}\n`);
  });
  const stop = (): void => {
    void close().finally(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
