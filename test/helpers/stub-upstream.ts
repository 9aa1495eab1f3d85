// The HTTP upstream the tests stand up, in one place: it listens on 127.0.0.1 (plain or TLS),
// reads each request whole, records it, and hands it to the test's script with the response to
// write, so a script says only what its upstream does differently. Closing it ends whatever is
// still open. The answers most scripts give (a JSON-RPC message as JSON, messages as an event
// stream, initialize's result) are the functions below; holding an answer until the test
// releases it is RequestHolds (server-control.ts).
import { createServer as createHttpServer, type IncomingHttpHeaders, type OutgoingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type ServerOptions as TlsServerOptions } from 'node:https';
import type { Socket } from 'node:net';
import type { CleanupHost } from './files.js';
import { PROTOCOL_VERSION } from './mcp-http.js';
import { listenLocal } from './ports.js';

export interface StubRequest {
  /** the HTTP method */
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  /** name, value, name, value… as received (node:http's `headers` object drops a `__proto__` field) */
  readonly rawHeaders: readonly string[];
  readonly body: string;
  /** the body when it is a JSON object (a JSON-RPC message) */
  readonly message: Readonly<Record<string, unknown>> | undefined;
  /** the message's `method` */
  readonly rpcMethod: string | undefined;
  /** the message's `id`; undefined for a notification, a response without one, or no message */
  readonly id: unknown;
  /** the request's connection (a TLS socket on a TLS stub) */
  readonly socket: Socket;
}

/** Answers one request: writes `res` now, later, in parts or never (a promise it returns that
 * rejects answers 500). */
export type StubScript = (req: StubRequest, res: ServerResponse) => unknown;

export interface StubOptions {
  /** Serve https with these options (cert and key; requestCert for mutual TLS). */
  readonly tls?: TlsServerOptions;
  /** Close a connection idle this long (node:http's default: 5 s, with a hint); `hint`: tell
   * clients in a `Keep-Alive: timeout=` header (seconds, rounded down), as node:http does, or not,
   * as uWS does. */
  readonly idleClose?: { readonly ms: number; readonly hint: boolean };
}

export interface StubUpstream {
  /** http(s)://127.0.0.1:<port>/mcp */
  readonly url: string;
  readonly port: number;
  /** every request, in arrival order */
  readonly requests: readonly StubRequest[];
  /** Resolves once `count` requests that `which` accepts (all, by default) have arrived. */
  arrived(count: number, which?: (req: StubRequest) => boolean): Promise<void>;
  /** Ends open responses and connections, and stops listening; idempotent. */
  close(): Promise<void>;
}

/** An upstream answering each request with `script`; closed when `t` ends (when given). */
export async function startStub(t: CleanupHost | null, script: StubScript, options: StubOptions = {}): Promise<StubUpstream> {
  const requests: StubRequest[] = [];
  const waiters = new Set<() => void>();
  const server: Server = options.tls === undefined ? createHttpServer() : createHttpsServer(options.tls);
  if (options.idleClose !== undefined) {
    // without keepAliveTimeout (and its hint), `timeout` closes a connection idle that long
    server.keepAliveTimeout = options.idleClose.hint ? options.idleClose.ms : 0;
    server.timeout = options.idleClose.hint ? 0 : options.idleClose.ms;
  }
  server.on('request', (req, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const message = jsonObject(body);
      const rpcMethod = typeof message?.['method'] === 'string' ? message['method'] : undefined;
      const recorded: StubRequest = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        body,
        message,
        rpcMethod,
        id: message?.['id'],
        socket: req.socket,
      };
      requests.push(recorded);
      for (const w of waiters) w();
      Promise.resolve(script(recorded, res)).catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(err instanceof Error ? err.message : String(err));
      });
    });
  });
  const port = await listenLocal(server);
  let closed: Promise<void> | null = null;
  const close = (): Promise<void> =>
    (closed ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }));
  t?.after(close);
  return {
    url: `${options.tls === undefined ? 'http' : 'https'}://127.0.0.1:${port}/mcp`,
    port,
    requests,
    arrived: (count, which = () => true) =>
      new Promise<void>((resolve) => {
        const check = (): void => {
          if (requests.filter(which).length < count) return;
          waiters.delete(check);
          resolve();
        };
        waiters.add(check);
        check();
      }),
    close,
  };
}

function jsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? Object.fromEntries(Object.entries(v)) : undefined;
  } catch {
    return undefined;
  }
}

/** The JSON-RPC response to `req` carrying `result`. */
export function resultFor(req: StubRequest, result: unknown): Record<string, unknown> {
  return { jsonrpc: '2.0', id: req.id ?? null, result };
}

/** initialize's result for a server called `name`. */
export function initializeResult(name: string, capabilities: Readonly<Record<string, unknown>> = { tools: {} }): Record<string, unknown> {
  return { protocolVersion: PROTOCOL_VERSION, capabilities, serverInfo: { name, version: '0.0.0' } };
}

/** Answers with `message` as JSON (status 200 unless `headers` come with another). */
export function sendJson(res: ServerResponse, message: unknown, headers: OutgoingHttpHeaders = {}, status = 200): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(message));
}

/** Answers with an event stream of `messages`, one `data:` event each, then ends it. */
export function sendEvents(res: ServerResponse, messages: readonly unknown[], headers: OutgoingHttpHeaders = {}): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', ...headers }).end(messages.map((m) => sseEvent(m)).join(''));
}

/** One event carrying `message`. */
export function sseEvent(message: unknown, fields = ''): string {
  return `${fields}data: ${JSON.stringify(message)}\n\n`;
}

/** Opens an event stream on `res` (its head sent at once) and leaves it open. */
export function sendStreamHead(res: ServerResponse, headers: OutgoingHttpHeaders = {}): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', ...headers });
  res.flushHeaders();
}

/** A notification (no id) or a response is taken with 202, as a Streamable HTTP server takes it. */
export function isNotification(req: StubRequest): boolean {
  return req.message !== undefined && req.id === undefined;
}
