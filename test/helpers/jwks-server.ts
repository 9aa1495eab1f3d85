// A real JWKS endpoint on 127.0.0.1 for jwtAuth `jwks.url` tests: key rotation (setKeys), outages
// (stop/restart on the same port, failWith), caching (Cache-Control) and fetch counting.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { listenLocal } from './ports.js';
import { type HeldRequest, RequestHolds, restartable } from './server-control.js';

export type { HeldRequest } from './server-control.js';

export interface JwksServer {
  /** http://127.0.0.1:<port> */
  readonly url: string;
  /** <url>/jwks.json */
  readonly jwksUrl: string;
  readonly port: number;
  /** What /jwks.json serves from now on, as `{ "keys": keys }`. */
  setKeys(keys: readonly object[]): void;
  /** null: no Cache-Control header (the default). */
  setCacheControl(value: string | null): void;
  /** Answer every request with this status (and an empty body) until given null. */
  failWith(status: number | null): void;
  /** Holds the next /jwks.json request's answer until released (a slow IdP). */
  holdNext(): HeldRequest;
  /** Requests seen for `path` (default /jwks.json), failed ones included. */
  requestCount(path?: string): number;
  /** Stops listening and drops open connections; the port is kept for restart(). */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  restart(): Promise<void>;
  /** Same as stop(); for t.after. */
  close(): Promise<void>;
}

export interface JwksServerOptions {
  readonly keys?: readonly object[];
  readonly cacheControl?: string;
  /** `issuer` in /.well-known/openid-configuration; default the server's url */
  readonly issuer?: string;
  /** `name=value` a /jwks.json request must have in its query (401 without it); the OpenID
   * configuration's jwks_uri carries it */
  readonly requireQuery?: string;
}

export async function startJwksServer(opts: JwksServerOptions = {}): Promise<JwksServer> {
  let keys: readonly object[] = opts.keys ?? [];
  let cacheControl: string | null = opts.cacheControl ?? null;
  let failure: number | null = null;
  const counts = new Map<string, number>();
  let base = '';
  const holds = new RequestHolds();

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const { pathname: path, search } = new URL(req.url ?? '/', 'http://jwks.invalid');
    counts.set(path, (counts.get(path) ?? 0) + 1);
    if (failure !== null) {
      res.writeHead(failure).end();
      return;
    }
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (cacheControl !== null) headers['cache-control'] = cacheControl;
    if (path === '/jwks.json' && opts.requireQuery !== undefined && !search.slice(1).split('&').includes(opts.requireQuery)) {
      res.writeHead(401, { 'content-type': 'text/plain' }).end('key required');
    } else if (path === '/jwks.json') {
      // Answered with the keys served when it is released.
      void holds.wait().then(() => res.writeHead(200, headers).end(JSON.stringify({ keys })));
    } else if (path === '/.well-known/openid-configuration') {
      res.writeHead(200, headers).end(JSON.stringify({ issuer: opts.issuer ?? base, jwks_uri: `${base}/jwks.json${opts.requireQuery === undefined ? '' : `?${opts.requireQuery}`}` }));
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    }
  });

  const port = await listenLocal(server, 0);
  base = `http://127.0.0.1:${port}`;
  const { stop, restart } = restartable(server, port);

  return {
    url: base,
    jwksUrl: `${base}/jwks.json`,
    port,
    setKeys: (next) => {
      keys = [...next];
    },
    setCacheControl: (value) => {
      cacheControl = value;
    },
    failWith: (status) => {
      failure = status;
    },
    holdNext: () => holds.hold(),
    requestCount: (path = '/jwks.json') => counts.get(path) ?? 0,
    stop,
    restart,
    close: stop,
  };
}

