// The gateway's binds: one uWS app listening per bind name. A reload opens the binds its config
// adds before anything is swapped (a taken port leaves the old config whole), then adopts them
// and stops listening on those the config no longer has; a failed or abandoned reload drops what
// it opened.

import type { FrontApp, FrontHandler, FrontModule, ListenSocket } from './http/front.js';
import type { GatewayConfig } from './config/types.js';
import { closeApp } from './http/uws.js';
import type { Logger } from './log/logger.js';
import { GatewayError } from '../protocol/errors.js';

export class ListenError extends GatewayError {
  constructor(message: string) {
    super('GW_LISTEN_FAILED', message);
  }
}

interface Bound {
  readonly app: FrontApp;
  readonly socket: ListenSocket;
  readonly port: number;
}

/** Binds opened and not adopted yet: adopt them or drop them. */
export type OpenedBinds = ReadonlyMap<string, Bound>;

function listen(uws: FrontModule, app: FrontApp, host: string | null, port: number): Promise<Bound> {
  return new Promise((resolveListen, reject) => {
    const done = (socket: ListenSocket | false): void => {
      if (socket === false) reject(new ListenError(`could not listen on ${host ?? '[::]'}:${port}`));
      else resolveListen({ app, socket, port: uws.us_socket_local_port(socket) });
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

  /** Listens on the binds of `cfg` not bound yet; on a failure closes those it opened and throws. */
  async openNew(cfg: GatewayConfig): Promise<OpenedBinds> {
    const opened = new Map<string, Bound>();
    for (const bind of cfg.binds) {
      if (this.#bound.has(bind.name)) continue;
      const app = this.#uws.App();
      app.any('/*', this.#handler(bind.name));
      try {
        opened.set(bind.name, await listen(this.#uws, app, null, bind.port));
      } catch (err) {
        closeApp(app);
        this.drop(opened);
        throw err;
      }
    }
    return opened;
  }

  drop(opened: OpenedBinds): void {
    for (const b of opened.values()) {
      this.#uws.us_listen_socket_close(b.socket);
      closeApp(b.app);
    }
  }

  /** Makes the opened binds live and stops listening on those `cfg` no longer has. */
  adopt(opened: OpenedBinds, cfg: GatewayConfig): void {
    for (const [name, b] of opened) {
      this.#bound.set(name, b);
      this.#apps.push(b.app);
      this.#logger.info('proxy::gateway', 'started bind', [['bind', name], ['port', b.port]]);
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
    this.drop(this.#bound);
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
