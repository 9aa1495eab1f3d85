// The floor of the gateway's architecture, for the bench: a uWS front relaying every POST to the
// upstream through an undici Pool, with no authentication, no MCP parsing, no logging, no
// metrics. The gateway's rows are read against this one: what the gateway adds on top of
// "uWS + undici" is the gateway's own cost (component-costs.md §7 measured this pairing).
//
// node dist/bench/bare-proxy.js --port <p> --upstream http://127.0.0.1:<stub>/mcp
// Prints `bare proxy listening on <port>`; stops on SIGTERM/SIGINT.

import { Pool } from 'undici';
import { loadNativeUws } from './uws-native.js';

const hopByHop = new Set(['host', 'connection', 'keep-alive', 'content-length', 'transfer-encoding', 'authorization', 'te', 'upgrade']);

function arg(flag: string): string | undefined {
  const i = process.argv.indexOf(flag);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const port = Number(arg('--port') ?? '0');
const upstream = new URL(arg('--upstream') ?? 'http://127.0.0.1:8000/mcp');
const pool = new Pool(upstream.origin, { connections: 256, pipelining: 1 });
const path = `${upstream.pathname}${upstream.search}`;
const uws = loadNativeUws();
const app = uws.App();

app.post('/*', (res, req) => {
  const headers: Record<string, string> = {};
  req.forEach((k, v) => {
    if (!hopByHop.has(k)) headers[k] = v;
  });
  let aborted = false;
  res.onAborted(() => {
    aborted = true;
  });
  const chunks: Buffer[] = [];
  res.onData((chunk, isLast) => {
    chunks.push(Buffer.from(chunk.slice(0)));
    if (!isLast) return;
    pool
      .request({ path, method: 'POST', headers, body: Buffer.concat(chunks) })
      .then(async (up) => {
        const body = await up.body.arrayBuffer();
        if (aborted) return;
        const type = up.headers['content-type'];
        res.cork(() => {
          res.writeStatus(String(up.statusCode));
          if (typeof type === 'string') res.writeHeader('content-type', type);
          res.end(body);
        });
      })
      .catch(() => {
        if (!aborted) res.cork(() => res.writeStatus('502 Bad Gateway').end());
      });
  });
});

app.listen('127.0.0.1', port, (socket) => {
  if (socket === false) {
    process.stderr.write(`bare proxy: could not listen on ${port}\n`);
    process.exit(1);
  }
  process.stdout.write(`bare proxy listening on ${uws.us_socket_local_port(socket)}\n`);
});
const stop = (): void => {
  void pool.close().finally(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
