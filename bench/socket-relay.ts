// A relay with no HTTP client library, for the bench only: the uWS front of relay-front.ts (as
// bare-proxy.ts) and a minimal keep-alive HTTP/1.1 client on net.Socket — content-length
// answers only (the stub's), no chunked bodies, no streaming, no timeouts, no header validation.
// Not a design for the gateway: it measures what undici's generality costs on this machine, and
// what a Node front costs with none of it (bench/README.md, "What limits the gateway now").
//
// node dist/bench/socket-relay.js --port <p> --upstream http://127.0.0.1:<stub>/mcp
// Prints `socket relay listening on <port>`; stops on SIGTERM/SIGINT.

import { connect, type Socket } from 'node:net';
import { arg, runRelayFront, type Answer } from './relay-front.js';

const HEAD_END = Buffer.from('\r\n\r\n');
const upstream = new URL(arg('--upstream') ?? 'http://127.0.0.1:8000/mcp');
const path = `${upstream.pathname}${upstream.search}`;
const upstreamPort = Number(upstream.port || '80');

interface Connection {
  readonly socket: Socket;
  /** the answer's receiver while a request is in flight */
  waiting: { readonly answer: (a: Answer) => void; readonly fail: () => void } | null;
  pending: Buffer | null;
}

const idle: Connection[] = [];

function open(): Connection {
  const socket = connect(upstreamPort, upstream.hostname);
  socket.setNoDelay(true);
  const c: Connection = { socket, waiting: null, pending: null };
  socket.on('data', (chunk: Buffer) => {
    const buf = c.pending === null ? chunk : Buffer.concat([c.pending, chunk]);
    const end = buf.indexOf(HEAD_END);
    const head = end < 0 ? '' : buf.toString('latin1', 0, end);
    const length = /\r\ncontent-length: *(\d+)/i.exec(head);
    if (end < 0 || length?.[1] === undefined || buf.length < end + 4 + Number(length[1])) {
      // incomplete; an answer without content-length never completes: close it as broken
      if (end >= 0 && length === null) socket.destroy();
      else c.pending = buf;
      return;
    }
    c.pending = null;
    const w = c.waiting;
    if (w === null) {
      socket.destroy(); // an answer nobody asked for
      return;
    }
    c.waiting = null;
    idle.push(c);
    const type = /\r\ncontent-type: *([^\r]*)/i.exec(head);
    w.answer({ status: head.slice(9, 12), contentType: type?.[1] ?? null, body: buf.subarray(end + 4, end + 4 + Number(length[1])) });
  });
  const broken = (): void => {
    const i = idle.indexOf(c);
    if (i >= 0) idle.splice(i, 1);
    c.waiting?.fail();
    c.waiting = null;
  };
  socket.on('error', broken);
  socket.on('close', broken);
  return c;
}

runRelayFront('socket relay', Number(arg('--port') ?? '0'), (headers, body, answer, fail) => {
  let head = '';
  for (const [k, v] of headers) head += `${k}: ${v}\r\n`;
  const c = idle.pop() ?? open();
  c.waiting = { answer, fail };
  c.socket.write(`POST ${path} HTTP/1.1\r\nhost: ${upstream.host}\r\n${head}content-length: ${body.length}\r\n\r\n`);
  c.socket.write(body);
});
