// What the gateway uses of uWebSockets.js, as types. The native module satisfies them as it is;
// node-front.ts implements them on node:http for the opt-in fallback (the package's own pure-JS
// fallback leaves most of these methods "Not implemented" and crashed on the first request).

/** A listening socket: opaque, handed back to the module that made it. */
export type ListenSocket = object;

export interface FrontRequest {
  /** the path, without the query */
  getUrl(): string;
  /** the raw query, without `?` */
  getQuery(): string | undefined;
  /** the first value of a header, '' when absent; values are read as UTF-8 */
  getHeader(lowerCaseName: string): string;
  getCaseSensitiveMethod(): string;
  /** every header field in arrival order, names lower-cased */
  forEach(cb: (name: string, value: string) => void): void;
}

export interface FrontResponse {
  /** runs cb, sending what it writes in as few system calls as possible */
  cork(cb: () => void): FrontResponse;
  writeStatus(status: string): FrontResponse;
  /** a string value is sent as its UTF-8 bytes, bytes as they are */
  writeHeader(name: string, value: string | Uint8Array): FrontResponse;
  /** false: back-pressure, wait for onWritable */
  write(chunk: string | Uint8Array): boolean;
  end(body?: string | Uint8Array): FrontResponse;
  /** ends the answer to a HEAD request: no body, and no Content-Length (given one, uWS v20.30
   * never ends the response: the connection hangs, or the process aborts) */
  endWithoutBody(): FrontResponse;
  /** called once the socket drains, until it returns true */
  onWritable(handler: (offset: number) => boolean): FrontResponse;
  /** the client went away before the response ended */
  onAborted(handler: () => void): FrontResponse;
  /** the request body, chunk by chunk; a chunk is only valid during the call */
  onData(handler: (chunk: ArrayBuffer, isLast: boolean) => void): FrontResponse;
  close(): FrontResponse;
  /** the peer's address: 4 bytes (IPv4) or 16 (IPv6) */
  getRemoteAddress(): ArrayBuffer;
}

export type FrontHandler = (res: FrontResponse, req: FrontRequest) => void;

/** Listen options, as uSockets numbers them. The default shares the port (SO_REUSEPORT), so
 * several processes serve one port; exclusive fails on a port another socket holds. */
export const LISTEN_SHARED_PORT = 0;
export const LISTEN_EXCLUSIVE_PORT = 1;
export type ListenOption = typeof LISTEN_SHARED_PORT | typeof LISTEN_EXCLUSIVE_PORT;

export type ListenCallback = (socket: ListenSocket | false) => void;

export interface FrontApp {
  any(pattern: string, handler: FrontHandler): FrontApp;
  get(pattern: string, handler: FrontHandler): FrontApp;
  listen(host: string, port: number, cb: ListenCallback): FrontApp;
  listen(host: string, port: number, option: ListenOption, cb: ListenCallback): FrontApp;
  listen(port: number, cb: ListenCallback): FrontApp;
  /**
   * Where a TLS app can change its certificates in place (node:tls can; uWS cannot change an
   * app's default one, so there a new app takes the port over): loads `tls` (throws when it does
   * not load) and returns what puts it in use for the connections that come next.
   */
  readonly prepareTls?: (tls: FrontTls) => () => void;
}

/** A certificate a TLS app serves: its files (uWS reads them itself) and their PEM as loaded. */
export interface FrontCertificate {
  /** the SNI name it is served for (`*.example.com` takes one label); null: every other name */
  readonly hostname: string | null;
  readonly certFile: string;
  readonly keyFile: string;
  readonly certPem: string;
  readonly keyPem: string;
}

/** The certificates of a TLS app: the first is the default, served when no other's name fits. */
export interface FrontTls {
  readonly certificates: readonly FrontCertificate[];
}

export interface FrontModule {
  App(): FrontApp;
  /** An HTTPS app; throws when a certificate does not load. */
  SSLApp(tls: FrontTls): FrontApp;
  us_listen_socket_close(socket: ListenSocket): void;
  us_socket_local_port(socket: ListenSocket): number;
}

/** Whether a client asking for `servername` (SNI) gets the certificate of `pattern`: the same
 * name, or one label in place of a leading `*` (as uWS matches them). */
export function sniMatches(pattern: string, servername: string): boolean {
  const p = pattern.toLowerCase();
  const name = servername.toLowerCase();
  if (!p.startsWith('*.')) return p === name;
  const dot = name.indexOf('.');
  return dot > 0 && name.slice(dot) === p.slice(1);
}
