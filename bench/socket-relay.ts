// A relay with no HTTP client library, for the bench only: the uWS front of bare-proxy.ts and a
// minimal keep-alive HTTP/1.1 client written on net.Socket — content-length answers only (the
// stub's), no chunked bodies, no streaming, no timeouts, no header validation. Not a design for
// the gateway: it measures what undici's generality costs on this machine, and what a Node
// front costs with none of it (bench/README.md, "What limits the gateway now").
//
// node dist/bench/socket-relay.js --port <p> --upstream http://127.0.0.1:<stub>/mcp
// Prints `socket relay listening on <port>`; stops on SIGTERM/SIGINT.

import { connect, type Socket } from 'node:net';
import { loadNativeUws } from './uws-native.js';

const skipped = new Set(['host', 'connection', 'keep-alive', 'content-length', 'transfer-encoding', 'authorization', 'te', 'upgrade']);
const HEAD_END = Buffer.from('\r\n\r\n');

function arg(flag: string): string | undefined {
  const i = process.argv.indexOf(flag);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const port = Number(arg('--port') ?? '0');
const upstream = new URL(arg('--upstream') ?? 'http://127.0.0.1:8000/mcp');
const path = `${upstream.pathname}${upstream.search}`;
const upstreamPort = Number(upstream.port || '80');

type Answer = (status: string, contentType: string | null, body: Buffer) => void;

interface Connection {
  readonly socket: Socket;
  /** the answer's receiver while a request is in flight */
  waiting: { readonly answer: Answer; readonly fail: () => void } | null;
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
    w.answer(head.slice(9, 12), type?.[1] ?? null, buf.subarray(end + 4, end + 4 + Number(length[1])));
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

const uws = loadNativeUws();
const app = uws.App();

app.post('/*', (res, req) => {
  let head = '';
  req.forEach((k, v) => {
    if (!skipped.has(k)) head += `${k}: ${v}\r\n`;
  });
  let aborted = false;
  res.onAborted(() => {
    aborted = true;
  });
  const chunks: Buffer[] = [];
  res.onData((chunk, isLast) => {
    chunks.push(Buffer.from(chunk.slice(0)));
    if (!isLast) return;
    const body = Buffer.concat(chunks);
    const c = idle.pop() ?? open();
    c.waiting = {
      answer: (status, type, answer) => {
        if (aborted) return;
        res.cork(() => {
          res.writeStatus(status);
          if (type !== null) res.writeHeader('content-type', type);
          res.end(answer);
        });
      },
      fail: () => {
        if (!aborted) res.cork(() => res.writeStatus('502 Bad Gateway').end());
      },
    };
    c.socket.write(`POST ${path} HTTP/1.1\r\nhost: ${upstream.host}\r\n${head}content-length: ${body.length}\r\n\r\n`);
    c.socket.write(body);
  });
});

app.listen('127.0.0.1', port, (socket) => {
  if (socket === false) {
    process.stderr.write(`socket relay: could not listen on ${port}\n`);
    process.exit(1);
  }
  process.stdout.write(`socket relay listening on ${uws.us_socket_local_port(socket)}\n`);
});
const stop = (): void => process.exit(0);
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
