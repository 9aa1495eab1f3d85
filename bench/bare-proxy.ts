// The floor of the gateway's architecture, for the bench: a uWS front relaying every POST to the
// upstream through an undici Pool, with no authentication, no MCP parsing, no logging, no
// metrics. The upstream call is made as the gateway makes it (src/main/upstream/http-transport.ts
// and src/main/mcp/answer-relay.ts): `dispatch` with a raw handler (undici's own onConnect /
// onHeaders / onData / onComplete interface), no body stream, no promise, no AbortController.
// What the gateway costs on top of this row is the gateway's own work.
//
// node dist/bench/bare-proxy.js --port <p> --upstream http://127.0.0.1:<stub>/mcp
// Prints `bare proxy listening on <port>`; stops on SIGTERM/SIGINT.

import { Pool } from 'undici';
import { arg, runRelayFront } from './relay-front.js';

const upstream = new URL(arg('--upstream') ?? 'http://127.0.0.1:8000/mcp');
// as the gateway's pool for calls: no pipelining, up to 256 connections, idle ones closed after 4 s
const pool = new Pool(upstream.origin, { connections: 256, pipelining: 1, keepAliveTimeout: 4_000, keepAliveMaxTimeout: 4_000 });
const origin = upstream.origin;
const path = `${upstream.pathname}${upstream.search}`;

runRelayFront(
  'bare proxy',
  Number(arg('--port') ?? '0'),
  (pairs, body, answer, fail) => {
    const headers: Record<string, string> = {};
    for (const [k, v] of pairs) headers[k] = v;
    let status = 0;
    let contentType: string | null = null;
    const chunks: Buffer[] = [];
    pool.dispatch(
      { origin, path, method: 'POST', headers, body },
      {
        onConnect() {},
        onHeaders(statusCode, raw) {
          status = statusCode;
          for (let i = 0; i + 1 < raw.length; i += 2) {
            if (String(raw[i]).toLowerCase() === 'content-type') contentType = String(raw[i + 1]);
          }
          return true;
        },
        onData(chunk) {
          chunks.push(chunk);
          return true;
        },
        onComplete() {
          answer({ status: String(status), contentType, body: chunks.length === 1 && chunks[0] !== undefined ? chunks[0] : Buffer.concat(chunks) });
        },
        onError: fail,
      },
    );
  },
  () => pool.close(),
);
