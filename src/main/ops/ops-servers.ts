// The operations listeners, at agentgateway's addresses by default: readiness
// (`/healthz/ready`, and `/healthz/live`, which answers while the event loop does), Prometheus
// stats (`/metrics`, `/stats/prometheus`) and the admin server (`/config_dump`). Each can be turned off; the session key never appears in a dump. They listen
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

export const READINESS_PATH = '/healthz/ready';
/** Always 200 while the event loop runs: what a liveness probe asks (readiness turns 503 while
 * draining or waiting for an IdP, which must not get the process restarted). */
export const LIVENESS_PATH = '/healthz/live';
export const METRICS_PATHS: readonly string[] = ['/metrics', '/stats/prometheus'];

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

/** Answers with the rendered metrics once they are (a collect may wait a turn of the event
 * loop); a scraper gone meanwhile gets nothing written to its closed response. */
function replyMetrics(res: FrontResponse, metrics: Metrics, logger: Logger): void {
  let aborted = false;
  res.onAborted(() => {
    aborted = true;
  });
  metrics.render().then(
    (text) => {
      if (!aborted) reply(res, '200 OK', metrics.contentType, text);
    },
    (err: unknown) => {
      logger.error('management', 'rendering metrics failed', [['error', err instanceof Error ? err.message : String(err)]]);
      if (!aborted) reply(res, '500 Internal Server Error', 'text/plain', 'metrics failed\n');
    },
  );
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
      app.get(LIVENESS_PATH, (res) => reply(res, '200 OK', 'text/plain', 'live\n'));
      app.get(READINESS_PATH, (res) => {
        const pending = o.pending();
        if (pending.length === 0) reply(res, '200 OK', 'text/plain', 'ready\n');
        else reply(res, '503 Service Unavailable', 'text/plain', `not ready, pending: ${pending.join(', ')}\n`);
      });
    });
    const stats = await open(o.stats, 'stats', (app) => {
      for (const path of METRICS_PATHS) app.get(path, (res) => replyMetrics(res, o.metrics, o.logger));
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
