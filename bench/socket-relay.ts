// A relay with no HTTP client library, for the bench only: the uWS front of relay-front.ts (as
// bare-proxy.ts) and a minimal keep-alive HTTP/1.1 client on net.Socket — content-length
// answers only (the stub's), no chunked bodies, no streaming, no timeouts, no header validation.
// Not a design for the gateway: it measures what undici's generality costs on this machine, and
// what a Node front costs with none of it.
//
// Two ways of using the connections:
//   default          one request in flight per connection, as many connections as calls in flight
//   --pipeline N     N connections; requests pipelined on them (answers come back in order), and
//                    each connection's requests of one turn of the event loop leave in one write:
//                    what batching the upstream side could save in system calls and wake-ups
//
// node dist/bench/socket-relay.js --port <p> --upstream http://127.0.0.1:<stub>/mcp [--pipeline N]
// Prints `socket relay listening on <port>`; stops on SIGTERM/SIGINT.

import { connect, type Socket } from 'node:net';
import { arg, runRelayFront, type Answer, type HeaderPairs } from './relay-front.js';

const HEAD_END = Buffer.from('\r\n\r\n');
const upstream = new URL(arg('--upstream') ?? 'http://127.0.0.1:8000/mcp');
const path = `${upstream.pathname}${upstream.search}`;
const upstreamPort = Number(upstream.port || '80');
const pipeline = Number(arg('--pipeline') ?? '0');

interface Waiting {
  readonly answer: (a: Answer) => void;
  readonly fail: () => void;
}

interface Connection {
  readonly socket: Socket;
  /** receivers of the answers still due, in request order */
  readonly waiting: Waiting[];
  pending: Buffer | null;
  /** requests of this turn not yet written (pipelined mode) */
  out: Buffer[];
}

const idle: Connection[] = [];
const pipelined: Connection[] = [];

/** Takes every whole answer off the front of `buf`; returns what is left (null: nothing). */
function answers(c: Connection, buf: Buffer): Buffer | null {
  let at = 0;
  for (;;) {
    const end = buf.indexOf(HEAD_END, at);
    if (end < 0) break;
    const head = buf.toString('latin1', at, end);
    const length = /\r\ncontent-length: *(\d+)/i.exec(head);
    if (length?.[1] === undefined) {
      // an answer without content-length never completes here: close it as broken
      c.socket.destroy();
      return null;
    }
    const bodyEnd = end + 4 + Number(length[1]);
    if (buf.length < bodyEnd) break;
    const w = c.waiting.shift();
    if (w === undefined) {
      c.socket.destroy(); // an answer nobody asked for
      return null;
    }
    const type = /\r\ncontent-type: *([^\r]*)/i.exec(head);
    const body = buf.subarray(end + 4, bodyEnd);
    at = bodyEnd;
    if (pipeline === 0) idle.push(c);
    w.answer({ status: head.slice(9, 12), contentType: type?.[1] ?? null, body });
  }
  return at >= buf.length ? null : buf.subarray(at);
}

function open(): Connection {
  const socket = connect(upstreamPort, upstream.hostname);
  socket.setNoDelay(true);
  const c: Connection = { socket, waiting: [], pending: null, out: [] };
  socket.on('data', (chunk: Buffer) => {
    c.pending = answers(c, c.pending === null ? chunk : Buffer.concat([c.pending, chunk]));
  });
  const broken = (): void => {
    const i = idle.indexOf(c);
    if (i >= 0) idle.splice(i, 1);
    const j = pipelined.indexOf(c);
    if (j >= 0) pipelined.splice(j, 1);
    for (const w of c.waiting.splice(0)) w.fail();
  };
  socket.on('error', broken);
  socket.on('close', broken);
  return c;
}

function requestHead(headers: HeaderPairs, length: number): string {
  let head = '';
  for (const [k, v] of headers) head += `${k}: ${v}\r\n`;
  return `POST ${path} HTTP/1.1\r\nhost: ${upstream.host}\r\n${head}content-length: ${length}\r\n\r\n`;
}

let flushQueued = false;
const flush = (): void => {
  flushQueued = false;
  for (const c of pipelined) {
    if (c.out.length === 0) continue;
    c.socket.write(c.out.length === 1 && c.out[0] !== undefined ? c.out[0] : Buffer.concat(c.out));
    c.out = [];
  }
};

/** The pipelined connection with the fewest answers due (opened up to N). */
function leastBusy(): Connection {
  if (pipelined.length < pipeline) {
    const c = open();
    pipelined.push(c);
    return c;
  }
  let best: Connection | undefined;
  for (const c of pipelined) if (best === undefined || c.waiting.length < best.waiting.length) best = c;
  return best ?? open();
}

runRelayFront('socket relay', Number(arg('--port') ?? '0'), (headers, body, answer, fail) => {
  const head = requestHead(headers, body.length);
  if (pipeline > 0) {
    const c = leastBusy();
    c.waiting.push({ answer, fail });
    c.out.push(Buffer.from(head, 'latin1'), body);
    if (!flushQueued) {
      flushQueued = true;
      setImmediate(flush);
    }
    return;
  }
  const c = idle.pop() ?? open();
  c.waiting.push({ answer, fail });
  c.socket.write(head);
  c.socket.write(body);
});
