// The gateway's binds: one uWS app listening per bind name, plain or HTTPS. A reload opens the
// binds its config adds before anything is swapped (a taken port leaves the old config whole),
// then adopts them and stops listening on those the config no longer has; a failed or abandoned
// reload drops what it opened. A bind whose certificates (or protocol) changed is opened anew on
// its port beside the old app (uWS listens with SO_REUSEPORT), which stops listening when the new
// one is adopted; where the front can change certificates in place (node:tls), it does that.

import { createHash } from 'node:crypto';
import type { FrontApp, FrontHandler, FrontModule, FrontTls, ListenSocket } from './http/front.js';
import type { BindConfig, GatewayConfig } from './config/types.js';
import { closeApp } from './http/uws.js';
import type { Logger } from './log/logger.js';
import { GatewayError, errorText } from '../protocol/errors.js';

export class ListenError extends GatewayError {
  constructor(message: string) {
    super('GW_LISTEN_FAILED', message);
  }
}

interface Bound {
  readonly app: FrontApp;
  readonly socket: ListenSocket;
  readonly port: number;
  /** what the app serves ('' for HTTP): a bind is opened anew when this changes */
  readonly serves: string;
}

/** Certificates a listening app takes in place, once adopted. */
interface Swap {
  readonly apply: () => void;
  readonly serves: string;
}

/** Binds opened (or certificates loaded) and not adopted yet: adopt them or drop them. */
export interface OpenedBinds {
  readonly listening: ReadonlyMap<string, Bound>;
  readonly swaps: ReadonlyMap<string, Swap>;
}

const TAKE_OVER_FAILED = (port: number): string =>
  `new certificates (or protocol) need a second listener on port ${port} to take over, and it could not listen: ` +
  'a port the kernel picked (port: 0) cannot be shared, nor can the node:http fallback front switch between HTTP and HTTPS; restart to apply them';


/** An HTTPS bind's certificates: the one of its first listener without a hostname (it answers
 * every name) is the default, else its first listener's; the others by hostname. */
export function frontTls(bind: BindConfig): FrontTls | null {
  const served = bind.listeners.flatMap((l) => (l.tls === null ? [] : [{ hostname: l.hostname, tls: l.tls }]));
  const first = served.find((s) => s.hostname === null) ?? served[0];
  if (first === undefined) return null;
  const ordered = [first, ...served.filter((s) => s !== first && s.hostname !== null)];
  return {
    certificates: ordered.map((s) => ({
      hostname: s === first ? null : s.hostname,
      certFile: s.tls.cert.file ?? '',
      keyFile: s.tls.key.file ?? '',
      certPem: s.tls.cert.secret,
      keyPem: s.tls.key.secret,
    })),
  };
}

/** A digest of the certificates (names, files and their contents), not another copy of the keys. */
function servesOf(tls: FrontTls | null): string {
  return tls === null ? '' : createHash('sha256').update(JSON.stringify(tls.certificates)).digest('base64url');
}

function listen(uws: FrontModule, app: FrontApp, host: string | null, port: number, serves: string): Promise<Bound> {
  return new Promise((resolveListen, reject) => {
    const done = (socket: ListenSocket | false): void => {
      if (socket === false) reject(new ListenError(`could not listen on ${host ?? '[::]'}:${port}`));
      else resolveListen({ app, socket, port: uws.us_socket_local_port(socket), serves });
    };
    if (host === null) app.listen(port, done);
    else app.listen(host, port, done);
  });
}

export class Binds {
  readonly #uws: FrontModule;
  readonly #handler: (bindName: string) => FrontHandler;
  readonly #logger: Logger;
  readonly #bound = new Map<string, Bound>();
  /** every app adopted, listening or not: close() ends their connections */
  readonly #apps: FrontApp[] = [];

  constructor(uws: FrontModule, handler: (bindName: string) => FrontHandler, logger: Logger) {
    this.#uws = uws;
    this.#handler = handler;
    this.#logger = logger;
  }

  /** Listens on the binds of `cfg` not bound yet, or bound serving something else; on a failure
   * closes those it opened and throws. */
  async openNew(cfg: GatewayConfig): Promise<OpenedBinds> {
    const listening = new Map<string, Bound>();
    const swaps = new Map<string, Swap>();
    for (const bind of cfg.binds) {
      const tls = frontTls(bind);
      const serves = servesOf(tls);
      const old = this.#bound.get(bind.name);
      if (old !== undefined && old.serves === serves) continue;
      try {
        if (old !== undefined && tls !== null && old.serves !== '' && old.app.prepareTls !== undefined) {
          swaps.set(bind.name, { apply: old.app.prepareTls(tls), serves });
          continue;
        }
        listening.set(bind.name, await this.#open(bind, tls, serves, old?.port ?? bind.port));
      } catch (err) {
        this.drop({ listening, swaps });
        if (old !== undefined && err instanceof ListenError) throw new ListenError(`${bind.name}: ${TAKE_OVER_FAILED(old.port)}`);
        throw err instanceof ListenError ? err : new ListenError(`${bind.name}: ${errorText(err)}`);
      }
    }
    return { listening, swaps };
  }

  async #open(bind: BindConfig, tls: FrontTls | null, serves: string, port: number): Promise<Bound> {
    const app = tls === null ? this.#uws.App() : this.#uws.SSLApp(tls);
    app.any('/*', this.#handler(bind.name));
    try {
      return await listen(this.#uws, app, null, port, serves);
    } catch (err) {
      closeApp(app);
      throw err;
    }
  }

  drop(opened: OpenedBinds): void {
    for (const b of opened.listening.values()) {
      this.#uws.us_listen_socket_close(b.socket);
      closeApp(b.app);
    }
  }

  /** Makes the opened binds live and stops listening on those `cfg` no longer has (and on the
   * apps a new one replaces: their connections stay until they end). */
  adopt(opened: OpenedBinds, cfg: GatewayConfig): void {
    for (const [name, b] of opened.listening) {
      const old = this.#bound.get(name);
      if (old !== undefined) this.#uws.us_listen_socket_close(old.socket);
      this.#bound.set(name, b);
      this.#apps.push(b.app);
      const protocol: Array<[string, string]> = b.serves === '' ? [] : [['protocol', 'HTTPS']];
      this.#logger.info('proxy::gateway', old === undefined ? 'started bind' : 'restarted bind', [['bind', name], ['port', b.port], ...protocol]);
    }
    for (const [name, swap] of opened.swaps) {
      const b = this.#bound.get(name);
      if (b === undefined) continue;
      swap.apply();
      this.#bound.set(name, { ...b, serves: swap.serves });
      this.#logger.info('proxy::gateway', 'bind certificates replaced', [['bind', name], ['port', b.port]]);
    }
    for (const [name, b] of this.#bound) {
      if (!cfg.binds.some((x) => x.name === name)) {
        this.#uws.us_listen_socket_close(b.socket);
        this.#bound.delete(name);
        this.#logger.info('proxy::gateway', 'stopped bind', [['bind', name]]);
      }
    }
  }

  /** A start that failed: every bind closed, connections and all. */
  dropAll(): void {
    this.drop({ listening: this.#bound, swaps: new Map() });
    this.#bound.clear();
  }

  /** No new connections; those open stay until closeApps(). */
  stopListening(): void {
    for (const b of this.#bound.values()) this.#uws.us_listen_socket_close(b.socket);
    this.#bound.clear();
  }

  /** Ends every connection (idle keep-alive ones would keep an embedding process alive). */
  closeApps(): void {
    for (const app of this.#apps) closeApp(app);
  }

  /** Port per bind name, of the binds listening now. */
  ports(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [name, b] of this.#bound) out.set(name, b.port);
    return out;
  }

  portOf(name: string): number | undefined {
    return this.#bound.get(name)?.port;
  }
}
