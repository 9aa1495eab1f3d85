// The floor of the gateway's architecture, for the bench: a uWS front relaying every POST to the
// upstream through an undici Pool, with no authentication, no MCP parsing, no logging, no
// metrics. The gateway's rows are read against this one: what the gateway adds on top of
// "uWS + undici" is the gateway's own cost (component-costs.md §7 measured this pairing).
//
// node dist/bench/bare-proxy.js --port <p> --upstream http://127.0.0.1:<stub>/mcp
// Prints `bare proxy listening on <port>`; stops on SIGTERM/SIGINT.

import { Pool } from 'undici';
import { arg, runRelayFront } from './relay-front.js';

const upstream = new URL(arg('--upstream') ?? 'http://127.0.0.1:8000/mcp');
const pool = new Pool(upstream.origin, { connections: 256, pipelining: 1 });
const path = `${upstream.pathname}${upstream.search}`;

runRelayFront(
  'bare proxy',
  Number(arg('--port') ?? '0'),
  (pairs, body, answer, fail) => {
    const headers: Record<string, string> = {};
    for (const [k, v] of pairs) headers[k] = v;
    pool
      .request({ path, method: 'POST', headers, body })
      .then(async (up) => {
        const type = up.headers['content-type'];
        answer({ status: String(up.statusCode), contentType: typeof type === 'string' ? type : null, body: await up.body.arrayBuffer() });
      })
      .catch(fail);
  },
  () => pool.close(),
);
