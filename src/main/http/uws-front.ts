// The native uWebSockets.js module as the gateway's front (front.ts). Plain apps are uWS's own;
// an HTTPS app is an SSLApp serving the first certificate by default and each other one for its
// hostname (addServerName). uWS reads the files itself, and v20.30 crashes the process (SIGSEGV)
// on a server name whose files are missing or do not pair, so each pair is read and checked just
// before it is handed over. A request on a connection whose SNI named a server name is routed by
// that name's own router, so the app's routes are registered on every router, once, at listen.

import type * as Uws from 'uWebSockets.js';
import { pairProblem, readPem } from '../config/pem-files.js';
import type { FrontApp, FrontCertificate, FrontHandler, FrontModule, FrontTls, ListenCallback, ListenOption } from './front.js';

type UwsModule = typeof Uws;

/** Closes every socket of an app, idle keep-alive connections included (uWS ≥ 20.27 has
 * App.close(); its typings do not declare it). */
export function closeApp(app: FrontApp | Uws.TemplatedApp): void {
  const close: unknown = Reflect.get(app, 'close');
  if (typeof close === 'function') Reflect.apply(close, app, []);
}

export function uwsFront(m: UwsModule): FrontModule {
  return {
    App: () => m.App(),
    SSLApp: (tls) => new UwsTlsApp(m, tls),
    us_listen_socket_close: (socket) => m.us_listen_socket_close(socket),
    us_socket_local_port: (socket) => m.us_socket_local_port(socket),
  };
}

/** The certificate's files, read again now and checked to pair; throws saying which is wrong. */
function checkedFiles(c: FrontCertificate): Uws.AppOptions {
  const cert = readPem(c.certFile);
  const key = readPem(c.keyFile);
  const problem =
    'problem' in cert ? `${c.certFile}: ${cert.problem}`
    : 'problem' in key ? `${c.keyFile}: ${key.problem}`
    : pairProblem({ secret: cert.pem, file: c.certFile }, { secret: key.pem, file: c.keyFile })?.problem;
  if (problem !== undefined) throw new Error(`certificate${c.hostname === null ? '' : ` for ${c.hostname}`}: ${problem}`);
  return { cert_file_name: c.certFile, key_file_name: c.keyFile };
}

type Route = readonly ['any' | 'get', string, FrontHandler];

class UwsTlsApp implements FrontApp {
  readonly #app: Uws.TemplatedApp;
  /** the server names, each with its own router */
  readonly #names: string[] = [];
  readonly #routes: Route[] = [];
  #registered = false;

  constructor(m: UwsModule, tls: FrontTls) {
    const [first, ...others] = tls.certificates;
    if (first === undefined) throw new Error('an HTTPS bind needs a certificate');
    this.#app = m.SSLApp(checkedFiles(first));
    for (const c of others) {
      const name = c.hostname?.toLowerCase();
      if (name === undefined || this.#names.includes(name)) continue;
      this.#app.addServerName(name, checkedFiles(c));
      this.#names.push(name);
    }
  }

  any(pattern: string, handler: FrontHandler): FrontApp {
    this.#routes.push(['any', pattern, handler]);
    return this;
  }

  get(pattern: string, handler: FrontHandler): FrontApp {
    this.#routes.push(['get', pattern, handler]);
    return this;
  }

  listen(host: string, port: number, cb: ListenCallback): FrontApp;
  listen(host: string, port: number, option: ListenOption, cb: ListenCallback): FrontApp;
  listen(port: number, cb: ListenCallback): FrontApp;
  listen(a: string | number, b: number | ListenCallback, c?: ListenOption | ListenCallback, d?: ListenCallback): FrontApp {
    this.#register();
    if (typeof a === 'number' && typeof b === 'function') this.#app.listen(a, b);
    else if (typeof a === 'string' && typeof b === 'number' && typeof c === 'function') this.#app.listen(a, b, c);
    else if (typeof a === 'string' && typeof b === 'number' && typeof c === 'number' && d !== undefined) this.#app.listen(a, b, c, d);
    return this;
  }

  close(): void {
    closeApp(this.#app);
  }

  /** The default router first (a fresh app browses it), then each name's: domain() switches for
   * good, so registering is done once, in this order. uWS v20.30 prints each switch to stdout. */
  #register(): void {
    if (this.#registered) return;
    this.#registered = true;
    const add = (): void => {
      for (const [method, pattern, handler] of this.#routes) this.#app[method](pattern, handler);
    };
    add();
    for (const name of this.#names) {
      this.#app.domain(name);
      add();
    }
  }
}
