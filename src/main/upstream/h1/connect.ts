// Opening a connection to an origin as undici's connector does: TCP, or TLS for https with the
// options backendTLS gives (SNI from the URL's host unless the policy names one; none for an IP
// address), ALPN http/1.1, the origin's last TLS session offered again, TCP keep-alive probes
// after a minute, no Nagle delay.

import { isIP, connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import type { TlsConnectOptions } from '../../http/tls-client.js';

export interface Origin {
  readonly https: boolean;
  /** the host to connect to, IPv6 without brackets */
  readonly hostname: string;
  readonly port: number;
  /** `host: …\r\n` as undici writes it */
  readonly hostLine: string;
}

export function originOf(url: URL): Origin {
  const https = url.protocol === 'https:';
  const bracketed = url.hostname.startsWith('[');
  return {
    https,
    hostname: bracketed ? url.hostname.slice(1, -1) : url.hostname,
    port: url.port === '' ? (https ? 443 : 80) : Number(url.port),
    hostLine: `host: ${url.host}\r\n`,
  };
}

/** Where a connection's bytes go, as they are read: a Buffer of its own, kept as long as wanted. */
export type ByteSink = (chunk: Buffer) => void;

// Plain TCP sockets read into this one buffer (net's `onread`) and each read is copied out at
// once: Node's own path allocates a 64 KB buffer per read and shrinks it, then pushes it through
// a Readable stream to a 'data' listener. One buffer serves every socket: each read is copied
// before the callback returns, and callbacks never overlap.
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

/** Copies one read out of READ_BUFFER; true: reading goes on (the sink pauses the socket itself). */
function readInto(sink: ByteSink, n: number, buf: Uint8Array): boolean {
  const chunk = Buffer.allocUnsafe(n);
  chunk.set(buf.subarray(0, n));
  sink(chunk);
  return true;
}

/** Opens sockets to one origin; `ready` is the event that says one can carry a request. */
export class Connector {
  readonly #origin: Origin;
  readonly #tls: TlsConnectOptions;
  readonly #servername: string | undefined;
  /** the last TLS session the origin gave, offered on the next connection */
  #session: Buffer | undefined;

  constructor(origin: Origin, tls: TlsConnectOptions | null) {
    this.#origin = origin;
    this.#tls = tls ?? {};
    this.#servername = this.#tls.servername ?? (isIP(origin.hostname) === 0 ? origin.hostname : undefined);
  }

  get ready(): 'secureConnect' | 'connect' {
    return this.#origin.https ? 'secureConnect' : 'connect';
  }

  open(sink: ByteSink): Socket {
    const { hostname, port, https } = this.#origin;
    let socket: Socket;
    if (https) {
      const tls: TLSSocket = tlsConnect({
        ...this.#tls,
        ...(this.#servername === undefined ? {} : { servername: this.#servername }),
        ...(this.#session === undefined ? {} : { session: this.#session }),
        ALPNProtocols: ['http/1.1'],
        host: hostname,
        port,
      });
      tls.on('session', (session: Buffer) => {
        this.#session = session;
      });
      tls.on('data', sink);
      socket = tls;
    } else {
      socket = netConnect({ host: hostname, port, onread: { buffer: READ_BUFFER, callback: (n, buf) => readInto(sink, n, buf) } });
    }
    socket.setKeepAlive(true, 60_000);
    socket.setNoDelay(true);
    return socket;
  }
}
