// An upstream below HTTP, for the upstream clients' differential tests: a TCP (or TLS) server
// that reads each request (head and Content-Length body) and answers it with whatever bytes the
// test scripts, and the same request sent through either client the gateway can use (undici's
// Pool or the gateway's own), answered into a handler that records everything it hears.
import assert from 'node:assert/strict';
import { type Server, type Socket, createServer } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import type { BackendTlsPolicy, UpstreamClient } from '../../src/main/config/types.js';
import type { AnswerHandler, RawHeaders } from '../../src/main/upstream/answer.js';
import { HttpPools } from '../../src/main/upstream/http-transport.js';
import type { TransportRequest } from '../../src/main/upstream/transport.js';
import type { CleanupHost } from './files.js';
import { listenLocal } from './ports.js';

/** One request as the upstream read it. */
export interface ReceivedRequest {
  /** head and body, as sent */
  readonly bytes: Buffer;
  /** which connection (0, 1, … in the order accepted) */
  readonly connection: number;
  /** its `x-case` field, if any */
  readonly tag: string | null;
}

/** What the upstream does with a request: writes to its socket (answering, closing, …). */
export type Script = (socket: Socket, req: ReceivedRequest, index: number) => void;

export interface RawUpstream {
  readonly url: string;
  readonly requests: ReceivedRequest[];
  /** sockets accepted, in order */
  readonly sockets: Socket[];
  /** how the next requests are answered (default: 200, empty body) */
  script: Script;
  /** resolves when `n` connections have closed on the server side */
  closedConnections(n: number): Promise<void>;
}

const HEAD_END = Buffer.from('\r\n\r\n');

/** Whole requests off the front of `buf` (head, then a Content-Length body); returns the rest. */
function requestsIn(buf: Buffer, each: (req: Buffer) => void): Buffer {
  let rest = buf;
  for (;;) {
    const end = rest.indexOf(HEAD_END);
    if (end < 0) return rest;
    const head = rest.toString('latin1', 0, end);
    const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? '0');
    if (rest.length < end + 4 + length) return rest;
    each(rest.subarray(0, end + 4 + length));
    rest = rest.subarray(end + 4 + length);
  }
}

export function answerWithBytes(bytes: Buffer | string, then: 'end' | 'keep' | 'destroy' = 'keep'): Script {
  return (socket) => {
    socket.write(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes);
    if (then === 'end') socket.end();
    else if (then === 'destroy') socket.destroy();
  };
}

export async function startRawUpstream(t: CleanupHost, tls?: { readonly cert: string; readonly key: string }): Promise<RawUpstream> {
  const requests: ReceivedRequest[] = [];
  const sockets: Socket[] = [];
  let closed = 0;
  const closeWaiters: Array<{ n: number; resolve: () => void }> = [];
  const up: RawUpstream = {
    url: '',
    requests,
    sockets,
    script: answerWithBytes('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'),
    closedConnections: (n) =>
      new Promise((resolve) => {
        if (closed >= n) resolve();
        else closeWaiters.push({ n, resolve });
      }),
  };
  const onSocket = (socket: Socket): void => {
    const connection = sockets.length;
    sockets.push(socket);
    let pending: Buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      pending = requestsIn(Buffer.concat([pending, chunk]), (bytes) => {
        const tag = /\r\nx-case: *([^\r]*)/i.exec(bytes.toString('latin1'))?.[1] ?? null;
        const req = { bytes, connection, tag };
        requests.push(req);
        up.script(socket, req, requests.length - 1);
      });
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      closed++;
      for (const w of closeWaiters.filter((x) => closed >= x.n)) {
        closeWaiters.splice(closeWaiters.indexOf(w), 1);
        w.resolve();
      }
    });
  };
  const server: Server = tls === undefined ? createServer(onSocket) : createTlsServer({ cert: tls.cert, key: tls.key }, onSocket);
  const port = await listenLocal(server);
  t.after(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  );
  return Object.assign(up, { url: `${tls === undefined ? 'http' : 'https'}://127.0.0.1:${port}/mcp` });
}

/** Everything a handler heard. Header names and values as latin1 text (one character a byte). */
export interface Outcome {
  readonly heads: Array<{ readonly status: number; readonly headers: string[] }>;
  body: Buffer;
  ended: 'complete' | 'error' | null;
  error: Error | null;
  /** calls after the end (must stay 0) */
  late: number;
  /** the abort onConnect gave */
  abort: ((err: Error) => void) | null;
}

function text(v: Buffer | string): string {
  return typeof v === 'string' ? v : v.toString('latin1');
}

export interface RecordOptions {
  /** onData returns false (pauses) for this many chunks */
  readonly pauses?: number;
  /** called with each call's name as it comes */
  readonly onEvent?: (name: string, outcome: Outcome) => void;
}

/** A handler recording what it hears, and a promise of the outcome once it ends. */
export function recorder(options: RecordOptions = {}): { handler: AnswerHandler; outcome: Outcome; done: Promise<Outcome>; resume: () => void } {
  const outcome: Outcome = { heads: [], body: Buffer.alloc(0), ended: null, error: null, late: 0, abort: null };
  const chunks: Buffer[] = [];
  let pauses = options.pauses ?? 0;
  let resumeFn: () => void = () => {};
  let settle: (o: Outcome) => void = () => {};
  const done = new Promise<Outcome>((resolve) => {
    settle = resolve;
  });
  const event = (name: string): boolean => {
    if (outcome.ended !== null) outcome.late++;
    options.onEvent?.(name, outcome);
    if (pauses > 0) {
      pauses--;
      return false;
    }
    return true;
  };
  const handler: AnswerHandler = {
    onConnect: (abort) => {
      outcome.abort = abort;
    },
    onHeaders: (status: number, headers: RawHeaders, resume: () => void) => {
      resumeFn = resume;
      outcome.heads.push({ status, headers: headers.map(text) });
      if (outcome.ended !== null) outcome.late++;
      options.onEvent?.('headers', outcome);
      return true;
    },
    onData: (chunk: Buffer) => {
      chunks.push(Buffer.from(chunk));
      return event('data');
    },
    onComplete: () => {
      if (outcome.ended !== null) outcome.late++;
      outcome.ended ??= 'complete';
      outcome.body = Buffer.concat(chunks);
      settle(outcome);
    },
    onError: (err: Error) => {
      if (outcome.ended !== null) outcome.late++;
      outcome.ended ??= 'error';
      outcome.error ??= err;
      outcome.body = Buffer.concat(chunks);
      settle(outcome);
    },
  };
  return { handler, outcome, done, resume: () => resumeFn() };
}

export function postRequest(body: string | Buffer = '{}', headers: Record<string, string> = {}): TransportRequest {
  const fields: Record<string, string> = Object.create(null);
  Object.assign(fields, { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, headers);
  return {
    method: 'POST',
    sessionId: undefined,
    headers: fields,
    query: [],
    body: typeof body === 'string' ? Buffer.from(body) : body,
    message: null,
    owner: () => 'test',
  };
}

/** The gateway's pools on one client, closed when the test ends. */
export function poolsOf(t: CleanupHost, client: UpstreamClient): HttpPools {
  const pools = new HttpPools(client);
  t.after(() => pools.close());
  return pools;
}

/** Sends `req` to `url` through `pools` and waits for the outcome. */
export function exchange(pools: HttpPools, url: string, req: TransportRequest, options: RecordOptions = {}, tls: BackendTlsPolicy | null = null): Promise<Outcome> {
  const r = recorder(options);
  pools.transport(url, tls).send(req, r.handler);
  return r.done;
}

export const CLIENTS: readonly UpstreamClient[] = ['undici', 'portcullis'];

/** Both clients heard the same: the same end, and for a whole answer the same heads and body. */
export function assertAgree(name: string, undici: Outcome, ours: Outcome): void {
  assert.equal(undici.late, 0, `${name}: undici's handler heard nothing after the end`);
  assert.equal(ours.late, 0, `${name}: nothing after the end`);
  assert.equal(ours.ended, undici.ended, `${name}: undici ${undici.ended} (${undici.error?.message ?? ''}), ours ${ours.ended} (${ours.error?.message ?? ''})`);
  if (undici.ended !== 'complete') return;
  assert.deepEqual(ours.heads, undici.heads, `${name}: heads`);
  assert.equal(ours.body.toString('latin1'), undici.body.toString('latin1'), `${name}: body`);
}
