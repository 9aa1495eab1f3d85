// The front on node:http, for when uWebSockets.js' native binary cannot load and the operator
// opted in (PORTCULLIS_ALLOW_UWS_FALLBACK=1). It implements exactly what the gateway uses of uWS
// (front.ts) with uWS's semantics: header strings are UTF-8 both ways (node:http reads and writes
// them as latin1), the URL is the path and the query apart, onAborted fires only for a response
// that had not ended, onWritable is called on each drain until it returns true. Slower than uWS,
// and a port cannot be shared between processes (node:http has no SO_REUSEPORT on Node 20). An
// HTTPS app is node:https choosing the certificate by SNI, and changes its certificates in place
// (node:tls can, and one process cannot listen twice on a port here, as uWS does for that).

import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { isIPv4, isIPv6 } from 'node:net';
import type { Duplex } from 'node:stream';
import { createSecureContext, type SecureContext } from 'node:tls';
import {
  LISTEN_EXCLUSIVE_PORT, sniMatches,
  type FrontApp, type FrontHandler, type FrontModule, type FrontRequest, type FrontResponse, type FrontTls, type ListenCallback, type ListenOption, type ListenSocket,
} from './front.js';
import { latin1OfUtf8, utf8OfLatin1 } from './header-text.js';
import { bufferView } from '../../protocol/buffer-view.js';

/** A header value as uWS would send it (a string as UTF-8, bytes as they are), in the latin1
 * string node:http writes byte for byte. */
function latin1Value(value: string | Uint8Array): string {
  if (typeof value !== 'string') return bufferView(value).toString('latin1');
  return latin1OfUtf8(value);
}

/** Body text as its UTF-8 bytes: given a string, node:http writes the head in the string's
 * encoding too, turning the latin1 header strings into UTF-8 (every non-ASCII byte doubled). */
function asBytes(chunk: string | Uint8Array): Uint8Array {
  return typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
}

/** The path and query of a request target; an absolute-form one (`http://host/path`, which
 * servers must accept, RFC 9112 §3.2.2) loses its scheme and authority. */
function originForm(target: string): string {
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(target);
  if (scheme === null) return target;
  const rest = target.slice(scheme[0].length);
  const at = rest.search(/[/?]/);
  return at < 0 ? '/' : rest[at] === '?' ? `/${rest.slice(at)}` : rest.slice(at);
}

/** The 4 or 16 bytes of an address as node:net prints it. */
export function addressBytes(address: string): ArrayBuffer {
  if (isIPv4(address)) return new Uint8Array(address.split('.').map(Number)).buffer;
  if (!isIPv6(address)) return new ArrayBuffer(0);
  const zone = address.indexOf('%');
  let text = zone < 0 ? address : address.slice(0, zone);
  // A trailing dotted IPv4 part (::ffff:127.0.0.1) counts as two groups.
  const dotted = text.lastIndexOf(':');
  const tail = text.slice(dotted + 1);
  if (isIPv4(tail)) {
    const [a = 0, b = 0, c = 0, d = 0] = tail.split('.').map(Number);
    text = `${text.slice(0, dotted + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', rest] = text.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = rest === undefined || rest === '' ? [] : rest.split(':');
  const groups = rest === undefined ? left : [...left, ...new Array<string>(8 - left.length - right.length).fill('0'), ...right];
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    const n = Number.parseInt(g, 16);
    out[i * 2] = n >> 8;
    out[i * 2 + 1] = n & 0xff;
  });
  return out.buffer;
}

class NodeRequest implements FrontRequest {
  readonly #req: IncomingMessage;
  readonly #path: string;
  readonly #query: string | undefined;

  constructor(req: IncomingMessage) {
    this.#req = req;
    const url = originForm(req.url ?? '/');
    const q = url.indexOf('?');
    this.#path = q < 0 ? url : url.slice(0, q);
    this.#query = q < 0 ? undefined : url.slice(q + 1);
  }

  getUrl(): string {
    return this.#path;
  }

  getQuery(): string | undefined {
    return this.#query;
  }

  getHeader(lowerCaseName: string): string {
    const raw = this.#req.rawHeaders;
    for (let i = 0; i + 1 < raw.length; i += 2) if (raw[i]?.toLowerCase() === lowerCaseName) return utf8OfLatin1(raw[i + 1] ?? '');
    return '';
  }

  getCaseSensitiveMethod(): string {
    return this.#req.method ?? 'GET';
  }

  forEach(cb: (name: string, value: string) => void): void {
    const raw = this.#req.rawHeaders;
    for (let i = 0; i + 1 < raw.length; i += 2) cb((raw[i] ?? '').toLowerCase(), utf8OfLatin1(raw[i + 1] ?? ''));
  }
}

class NodeResponse implements FrontResponse {
  readonly #req: IncomingMessage;
  readonly #res: ServerResponse;
  #ended = false;
  #aborted: (() => void) | null = null;
  #writable: ((offset: number) => boolean) | null = null;
  #written = 0;

  constructor(req: IncomingMessage, res: ServerResponse) {
    this.#req = req;
    this.#res = res;
    res.on('close', () => {
      if (this.#ended) return;
      this.#ended = true;
      this.#aborted?.();
    });
    res.on('drain', () => {
      const handler = this.#writable;
      // A handler that wrote again and set the next one (a write that filled the buffer anew)
      // keeps that one, as uWS does.
      if (handler !== null && handler(this.#written) && this.#writable === handler) this.#writable = null;
    });
  }

  cork(cb: () => void): FrontResponse {
    // node:http sends the head with the first body bytes, and end(body) in one write.
    cb();
    return this;
  }

  writeStatus(status: string): FrontResponse {
    const code = Number.parseInt(status, 10);
    this.#res.statusCode = code;
    this.#res.statusMessage = status.slice(String(code).length).trim();
    return this;
  }

  writeHeader(name: string, value: string | Uint8Array): FrontResponse {
    this.#res.appendHeader(name, latin1Value(value));
    return this;
  }

  write(chunk: string | Uint8Array): boolean {
    const bytes = asBytes(chunk);
    this.#written += bytes.byteLength;
    return this.#res.write(bytes);
  }

  end(body: string | Uint8Array = ''): FrontResponse {
    this.#ended = true;
    this.#res.end(asBytes(body));
    return this;
  }

  endWithoutBody(): FrontResponse {
    this.#ended = true;
    this.#res.end(); // node:http sends no body to a HEAD request
    return this;
  }

  onWritable(handler: (offset: number) => boolean): FrontResponse {
    this.#writable = handler;
    return this;
  }

  onAborted(handler: () => void): FrontResponse {
    this.#aborted = handler;
    return this;
  }

  onData(handler: (chunk: ArrayBuffer, isLast: boolean) => void): FrontResponse {
    this.#req.on('data', (c: Buffer) => {
      const copy = new ArrayBuffer(c.byteLength);
      new Uint8Array(copy).set(c);
      handler(copy, false);
    });
    this.#req.on('end', () => handler(new ArrayBuffer(0), true));
    return this;
  }

  close(): FrontResponse {
    this.#ended = true;
    this.#res.destroy();
    return this;
  }

  getRemoteAddress(): ArrayBuffer {
    return addressBytes(this.#req.socket.remoteAddress ?? '');
  }
}

interface Route {
  readonly method: string | null;
  readonly pattern: string;
  readonly handler: FrontHandler;
}

/** uWS's precedence, for the patterns the gateway uses: an exact path over a wildcard (`/x/*`). */
function matches(pattern: string, path: string): boolean {
  return pattern.endsWith('/*') ? path.startsWith(pattern.slice(0, -1)) || path === pattern.slice(0, -2) : path === pattern;
}

type Server = HttpServer | HttpsServer;

const servers = new WeakMap<ListenSocket, Server>();
const maxHeaderBytes = 128 * 1024;

/** An HTTPS app's certificates, loaded: the default's PEM (for clients that name no server)
 * and a context per server name. */
interface LoadedTls {
  readonly pems: { readonly cert: string; readonly key: string };
  readonly byDefault: SecureContext;
  readonly named: ReadonlyArray<readonly [string, SecureContext]>;
}

function loadTls(tls: FrontTls): LoadedTls {
  const [first, ...others] = tls.certificates;
  if (first === undefined) throw new Error('an HTTPS bind needs a certificate');
  const pems = { cert: first.certPem, key: first.keyPem };
  const named = others.flatMap((c) => (c.hostname === null ? [] : [[c.hostname, createSecureContext({ cert: c.certPem, key: c.keyPem })] as const]));
  return { pems, byDefault: createSecureContext(pems), named };
}

/** node:http's own answer to a request it cannot parse (400, or 431 for too many header bytes),
 * except when the "error" is a request pipelined behind `Connection: close`: node:http would
 * answer 400 and drop the answer still due to the request before it (RFC 9112 §9.6: answer
 * that one, then close), so the socket is left to close after it. */
function answerClientError(err: Error & { code?: string }, socket: Duplex): void {
  if (err.code === 'HPE_CLOSED_CONNECTION') return;
  if (!socket.writable || err.code === 'ECONNRESET') {
    socket.destroy();
    return;
  }
  const status = err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\n\r\n`);
}

class NodeApp implements FrontApp {
  readonly #routes: Route[] = [];
  readonly #servers = new Set<Server>();
  #tls: LoadedTls | null;
  readonly prepareTls?: (tls: FrontTls) => () => void;

  constructor(tls: FrontTls | null) {
    this.#tls = tls === null ? null : loadTls(tls);
    if (tls === null) return;
    this.prepareTls = (next) => {
      const loaded = loadTls(next);
      return () => {
        this.#tls = loaded;
        for (const server of this.#servers) if ('setSecureContext' in server) server.setSecureContext(loaded.pems);
      };
    };
  }

  any(pattern: string, handler: FrontHandler): FrontApp {
    this.#routes.push({ method: null, pattern, handler });
    return this;
  }

  get(pattern: string, handler: FrontHandler): FrontApp {
    this.#routes.push({ method: 'GET', pattern, handler });
    return this;
  }

  listen(host: string, port: number, cb: ListenCallback): FrontApp;
  listen(host: string, port: number, option: ListenOption, cb: ListenCallback): FrontApp;
  listen(port: number, cb: ListenCallback): FrontApp;
  listen(hostOrPort: string | number, portOrCb: number | ListenCallback, optionOrCb?: ListenOption | ListenCallback, maybeCb?: ListenCallback): FrontApp {
    const host = typeof hostOrPort === 'string' ? hostOrPort : undefined;
    const port = typeof hostOrPort === 'number' ? hostOrPort : typeof portOrCb === 'number' ? portOrCb : 0;
    const cb = typeof portOrCb === 'function' ? portOrCb : typeof optionOrCb === 'function' ? optionOrCb : maybeCb;
    // node:http never sets SO_REUSEPORT (Node 20 has no reusePort): on this front every port is
    // held exclusively, whichever option is asked. `exclusive` keeps it so under node:cluster too.
    const exclusive = optionOrCb === LISTEN_EXCLUSIVE_PORT;
    // node:http refuses header blocks over 16 KB; uWS v20.30 takes about 128 KiB, and
    // a long token must get the gateway's own 401 here as there, not a 431.
    const server = this.#createServer();
    // uWS hands the gateway any Expect; node:http would answer 417 itself.
    server.on('checkExpectation', (req, res) => this.#dispatch(req, res));
    server.on('clientError', answerClientError);
    let listening = false;
    server.on('error', () => {
      if (!listening) cb?.(false);
    });
    server.listen({ host, port, exclusive }, () => {
      listening = true;
      const socket: ListenSocket = {};
      servers.set(socket, server);
      this.#servers.add(server);
      cb?.(socket);
    });
    return this;
  }

  #createServer(): Server {
    const handler = (req: IncomingMessage, res: ServerResponse): void => this.#dispatch(req, res);
    const tls = this.#tls;
    if (tls === null) return createServer({ maxHeaderSize: maxHeaderBytes }, handler);
    const SNICallback = (servername: string, done: (err: Error | null, ctx?: SecureContext) => void): void => {
      // Read at each handshake: prepareTls swaps what this app serves.
      const now = this.#tls ?? tls;
      done(null, now.named.find(([pattern]) => sniMatches(pattern, servername))?.[1] ?? now.byDefault);
    };
    return createHttpsServer({ ...tls.pems, SNICallback, maxHeaderSize: maxHeaderBytes }, handler);
  }

  /** Closes the listeners and every connection, idle keep-alive ones included (uWS's App.close). */
  close(): void {
    for (const server of this.#servers) {
      server.close();
      server.closeAllConnections();
    }
    this.#servers.clear();
  }

  #dispatch(req: IncomingMessage, res: ServerResponse): void {
    const request = new NodeRequest(req);
    const path = request.getUrl();
    const method = request.getCaseSensitiveMethod().toUpperCase();
    const fits = this.#routes.filter((r) => (r.method === null || r.method === method) && matches(r.pattern, path));
    const route = fits.find((r) => r.pattern === path) ?? fits.sort((a, b) => b.pattern.length - a.pattern.length)[0];
    if (route === undefined) {
      res.writeHead(404).end();
      return;
    }
    route.handler(new NodeResponse(req, res), request);
  }
}

/** The uWS module's functions the gateway calls, on node:http. */
export const nodeFront: FrontModule = {
  App: () => new NodeApp(null),
  SSLApp: (tls) => new NodeApp(tls),
  us_listen_socket_close: (socket) => {
    servers.get(socket)?.close();
  },
  us_socket_local_port: (socket) => {
    const address = servers.get(socket)?.address();
    return typeof address === 'object' && address !== null ? address.port : -1;
  },
};
