// HTTP listening for the example servers: `localhost` means both loopback addresses, since the
// lab's gateway dials http://localhost:<port> and may resolve that to ::1 or 127.0.0.1 (binding
// `::` would reach beyond loopback).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

export type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

/** Listens on `host` (both loopback addresses for `localhost`); port 0 picks a free one. */
export async function listenAll(onRequest: RequestListener, host: string, port: number): Promise<Server[]> {
  if (host !== 'localhost') return [await listenOne(onRequest, host, port)];
  // With port 0 the v4 port may be taken on ::1; try a few ephemeral ports before giving up.
  for (let attempt = 0; ; attempt++) {
    const v4 = await listenOne(onRequest, '127.0.0.1', port);
    try {
      return [v4, await listenOne(onRequest, '::1', portOf(v4))];
    } catch (err) {
      const code = errorCode(err);
      if (code === 'EADDRNOTAVAIL' || code === 'EAFNOSUPPORT') return [v4]; // no IPv6 loopback here
      await closeHttpServer(v4);
      if (code !== 'EADDRINUSE' || port !== 0 || attempt >= 4) throw err;
    }
  }
}

function listenOne(onRequest: RequestListener, host: string, port: number): Promise<Server> {
  const server = createServer(onRequest);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

export function portOf(server: Server | undefined): number {
  const address = server?.address();
  if (address === null || address === undefined || typeof address === 'string') throw new Error('server is not listening on TCP');
  return address.port;
}

export function closeHttpServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    // GET streams and keep-alive sockets would otherwise hold close() open.
    server.closeAllConnections();
  });
}

/** `http://host:port` with an IPv6 host in brackets. */
export function originOf(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** A TCP port from a command-line or environment value. */
export function parsePort(text: string): number {
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65535) throw new Error(`invalid port: ${text}`);
  return Number(text);
}

export function errorCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string') return err.code;
  return undefined;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Closes on SIGINT/SIGTERM; the process then exits 0 once nothing is left on the event loop. */
export function closeOnSignal(name: string, close: () => Promise<void>): void {
  const stop = (): void => {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    close().catch((err: unknown) => {
      console.error(`${name}: ${errorMessage(err)}`);
      process.exitCode = 1;
    });
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
