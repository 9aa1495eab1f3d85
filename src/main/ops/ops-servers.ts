// The operations listeners, at agentgateway's addresses by default: readiness
// (`/healthz/ready`), Prometheus stats (`/metrics`, `/stats/prometheus`) and the admin server
// (`/config_dump`). Each can be turned off; the session key never appears in a dump. They listen
// exclusively: with a shared port (SO_REUSEPORT, uWS's default, which the gateway's own binds
// keep) a second gateway on the same stats port would start silently, and scrapes would go to
// either of the two.

import { LISTEN_EXCLUSIVE_PORT, type FrontApp, type FrontModule, type FrontResponse, type ListenSocket } from '../http/front.js';
import type { GatewayConfig } from '../config/types.js';
import { closeApp } from '../http/uws.js';
import type { Logger } from '../log/logger.js';
import type { Metrics } from './metrics.js';
import { redactedConfig } from './redact.js';
import { GatewayError } from '../../protocol/errors.js';

export interface OpsOptions {
  readonly admin: string | null;
  readonly stats: string | null;
  readonly readiness: string | null;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly configDump: () => GatewayConfig;
  /** What readiness waits for (agentgateway's "pending" tasks); none: ready. */
  readonly pending: () => readonly string[];
}

export interface OpsServers {
  readonly ports: { readonly admin: number | null; readonly stats: number | null; readonly readiness: number | null };
  close(): Promise<void>;
}

export class OpsAddressError extends GatewayError {
  constructor(message: string) {
    super('GW_OPS_ADDRESS', message);
  }
}

/** `localhost:15000`, `[::]:15020`, `0.0.0.0:15021` → host and port. */
export function parseHostPort(addr: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(addr);
  const port = m === null ? NaN : Number(m[3]);
  if (m === null || port > 65535) throw new OpsAddressError(`invalid address "${addr}": expected host:port`);
  return { host: m[1] ?? m[2] ?? '', port };
}

function reply(res: FrontResponse, status: string, type: string, body: string): void {
  res.cork(() => res.writeStatus(status).writeHeader('content-type', type).end(body));
}


export async function startOpsServers(uws: FrontModule, o: OpsOptions): Promise<OpsServers> {
  const sockets: ListenSocket[] = [];
  const apps: FrontApp[] = [];
  const closeAll = (): void => {
    for (const s of sockets.splice(0)) uws.us_listen_socket_close(s);
    for (const app of apps.splice(0)) closeApp(app);
  };
  async function open(addr: string | null, name: string, setup: (app: FrontApp) => void): Promise<number | null> {
    if (addr === null) return null;
    const { host, port } = parseHostPort(addr);
    const app = uws.App();
    apps.push(app);
    setup(app);
    app.any('/*', (res) => reply(res, '404 Not Found', 'text/plain', 'not found\n'));
    const socket = await new Promise<ListenSocket | false>((done) => app.listen(host, port, LISTEN_EXCLUSIVE_PORT, done));
    if (socket === false) throw new OpsAddressError(`could not listen on ${addr} (${name}): the port is taken (ops ports are not shared) or the address cannot be bound`);
    sockets.push(socket);
    const bound = uws.us_socket_local_port(socket);
    o.logger.info('management', 'listener established', [['address', `${host}:${bound}`], ['component', name]]);
    return bound;
  }
  try {
    const readiness = await open(o.readiness, 'readiness', (app) => {
      app.get('/healthz/ready', (res) => {
        const pending = o.pending();
        if (pending.length === 0) reply(res, '200 OK', 'text/plain', 'ready\n');
        else reply(res, '503 Service Unavailable', 'text/plain', `not ready, pending: ${pending.join(', ')}\n`);
      });
    });
    const stats = await open(o.stats, 'stats', (app) => {
      const metrics = (res: FrontResponse): void => reply(res, '200 OK', 'text/plain; version=0.0.4', o.metrics.render());
      app.get('/metrics', metrics);
      app.get('/stats/prometheus', metrics);
    });
    const admin = await open(o.admin, 'admin', (app) => {
      app.get('/config_dump', (res) => reply(res, '200 OK', 'application/json', JSON.stringify(redactedConfig(o.configDump()), null, 2)));
    });
    return {
      ports: { admin, stats, readiness },
      close: async () => closeAll(),
    };
  } catch (err) {
    // What opened before the failing listener must not outlive the failed start.
    closeAll();
    throw err;
  }
}
