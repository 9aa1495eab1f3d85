// Streamable HTTP upstreams: per origin, one pool of connections for request/response traffic
// and one for long-lived streams (GET event streams), so open streams never starve calls of
// connections. The pools are this package's HTTP/1.1 client (h1/) or undici's, as
// `config.upstreamClient` says; either takes the caller's handler as it is: no body stream, no
// promise, no AbortController per request (the relay's hot path). undici's calls pool has no
// undici timers: its idle guard (idle-guard.ts) gives the same limits without a timer per
// request; this package's client checks its own. Both clients close a connection idle for
// keepAliveMs themselves, before the upstream's own idle timeout does (keepAliveLimits).

import { Pool } from 'undici';
import { DEFAULT_UPSTREAM_CLIENT } from '../config/read-runtime.js';
import type { BackendTlsPolicy, PipeliningPolicy, UpstreamClient } from '../config/types.js';
import { type TlsConnectOptions, tlsConnectOptions, tlsIdentity } from '../http/tls-client.js';
import { applyCredential } from '../upstream-auth/apply-credential.js';
import type { AnswerHandler } from './answer.js';
import { H1_DEFAULTS, H1Pool } from './h1/pool.js';
import { H1Error } from './h1/errors.js';
import { turnOffPretenuring } from './h1/no-pretenuring.js';
import { type RequestParts, validPath } from './h1/request-head.js';
import { defaultIdleLimits, GuardedCall, IdleGuard, type IdleLimits } from './idle-guard.js';
import type { QueryEdit, Transport, TransportRequest } from './transport.js';

/** The idle guard's limits on a call, and how long a connection may wait idle for its next one. */
export interface UpstreamIdleLimits extends IdleLimits {
  /** ms an idle upstream connection stays open; an upstream's `Keep-Alive: timeout=` hint can
   * only shorten it */
  readonly keepAliveMs: number;
}

/** Below the idle timeouts of common servers (Node's http server 5 s, Apache 5 s, uWS 10 s),
 * undici's own default: the gateway closes an idle connection before its server does, so it never
 * sends a call on a connection the server is closing (a POST is not retried: the call would
 * fail), and a burst's connections close as they fall idle rather than when the server sweeps. */
export const defaultUpstreamIdleLimits: UpstreamIdleLimits = { ...defaultIdleLimits, keepAliveMs: 4_000 };

/** undici's keep-alive options for `ms`: a server's hint (minus undici's 2 s margin) may shorten
 * it, never lengthen it. */
function keepAliveLimits(ms: number): { readonly keepAliveTimeout: number; readonly keepAliveMaxTimeout: number } {
  return { keepAliveTimeout: ms, keepAliveMaxTimeout: ms };
}

/** One origin's connections, whichever client keeps them. */
interface OriginPool {
  /** `handler` is watched for idle time when it is a GuardedCall and the pool has a guard. */
  dispatch(req: RequestParts, handler: AnswerHandler): void;
  close(): Promise<void>;
}

interface Pools {
  readonly calls: OriginPool;
  readonly streams: OriginPool;
}

/** Calls: up to 256 connections per upstream. No pipelining unless the target asks for it: a
 * slow tool call would hold up every call queued behind it. */
const CALL_CONNECTIONS = 256;

export class HttpTransport implements Transport {
  readonly key: string;
  /** path and query sent upstream */
  readonly #path: string;
  readonly #pools: Pools;

  constructor(url: URL, pools: Pools) {
    this.key = url.origin;
    this.#path = `${url.pathname}${url.search}`;
    this.#pools = pools;
  }

  send(req: TransportRequest, answer: AnswerHandler): void {
    const pool = req.method === 'GET' ? this.#pools.streams : this.#pools.calls;
    const path = req.query.length === 0 ? this.#path : withQuery(this.#path, req.query);
    pool.dispatch({ path, method: req.method, headers: req.headers, body: req.body }, answer);
  }
}

/** The target's path with a credential's query parameters replaced or removed. */
function withQuery(pathAndQuery: string, edits: readonly QueryEdit[]): string {
  const removes = edits.map((e) => ({ kind: 'queryParameter' as const, name: e.name }));
  const inserts = edits.flatMap((e) => (e.value === null ? [] : [{ kind: 'queryParameter' as const, name: e.name, value: e.value }]));
  return applyCredential({ headers: [], pathAndQuery }, { removes, inserts }).pathAndQuery;
}

/** This package's client; a path it could not write is refused before anything is sent. */
class PortcullisPool implements OriginPool {
  readonly #pool: H1Pool;

  constructor(pool: H1Pool) {
    this.#pool = pool;
  }

  dispatch(req: RequestParts, handler: AnswerHandler): void {
    if (!validPath(req.path)) handler.onError(new H1Error('GW_UPSTREAM_BAD_REQUEST', 'request not sent upstream: invalid request path'));
    else this.#pool.dispatch(req, handler);
  }

  close(): Promise<void> {
    return this.#pool.close();
  }
}

class UndiciPool implements OriginPool {
  readonly #pool: Pool;
  readonly #origin: string;
  /** what bounds a call's wait for its head and its body's silences (null: nothing, streams) */
  readonly #guard: IdleGuard | null;

  constructor(origin: string, pool: Pool, guard: IdleGuard | null) {
    this.#origin = origin;
    this.#pool = pool;
    this.#guard = guard;
  }

  dispatch(req: RequestParts, handler: AnswerHandler): void {
    if (handler instanceof GuardedCall) handler.guard = this.#guard;
    try {
      this.#pool.dispatch({ origin: this.#origin, ...req }, handler);
    } catch (err) {
      // a closed pool (the gateway is closing) throws instead of calling onError
      handler.onError(err instanceof Error ? err : new Error(String(err)));
    }
  }

  close(): Promise<void> {
    this.#guard?.close();
    return this.#pool.destroy();
  }
}

/** The calls pool of this package's client: one call per connection, or pipelined as the
 * target's `http.pipelining` says. Calls held while its connections open make V8 pretenure the
 * call path (no-pretenuring.ts), pipelined or not. */
function portcullisCalls(url: URL, tls: TlsConnectOptions | null, limits: UpstreamIdleLimits, pipelining: PipeliningPolicy | null): OriginPool {
  const timeouts = { ...H1_DEFAULTS, headersMs: limits.headMs, bodyMs: limits.bodyMs, keepAliveMs: limits.keepAliveMs };
  const shape = pipelining === null ? { connections: CALL_CONNECTIONS, depth: 1 } : pipelining;
  turnOffPretenuring();
  return new PortcullisPool(new H1Pool(url, tls, { ...timeouts, ...shape }));
}

function portcullisStreams(url: URL, tls: TlsConnectOptions | null, limits: UpstreamIdleLimits): OriginPool {
  // No body timeout: an event stream may stay quiet for a long time.
  return new PortcullisPool(new H1Pool(url, tls, { ...H1_DEFAULTS, connections: null, bodyMs: 0, keepAliveMs: limits.keepAliveMs }));
}

function undiciCalls(url: URL, tls: TlsConnectOptions | null, limits: UpstreamIdleLimits): OriginPool {
  const connect = tls === null ? {} : { connect: tls };
  const options = { connections: CALL_CONNECTIONS, pipelining: 1, ...keepAliveLimits(limits.keepAliveMs), headersTimeout: 0, bodyTimeout: 0, ...connect };
  return new UndiciPool(url.origin, new Pool(url.origin, options), new IdleGuard(limits));
}

function undiciStreams(url: URL, tls: TlsConnectOptions | null, limits: UpstreamIdleLimits): OriginPool {
  const connect = tls === null ? {} : { connect: tls };
  return new UndiciPool(url.origin, new Pool(url.origin, { connections: null, pipelining: 1, ...keepAliveLimits(limits.keepAliveMs), bodyTimeout: 0, ...connect }), null);
}

/** The pools of every origin the config names, shared by the targets that reach it the same
 * way (the same origin, backendTLS and pipelining). */
export class HttpPools {
  readonly #byOrigin = new Map<string, Pools>();
  readonly #client: UpstreamClient;
  readonly #limits: UpstreamIdleLimits;

  constructor(client: UpstreamClient = DEFAULT_UPSTREAM_CLIENT, limits: Partial<UpstreamIdleLimits> = {}) {
    this.#client = client;
    this.#limits = { ...defaultUpstreamIdleLimits, ...limits };
  }

  /** A pipelined target's calls go through this package's client whatever `upstreamClient`
   * says (undici's pipelining writes each request on its own and fails every request behind a
   * broken one); its streams, like every other target's requests, through the configured one. */
  transport(rawUrl: string, tls: BackendTlsPolicy | null, pipelining: PipeliningPolicy | null = null): HttpTransport {
    const url = new URL(rawUrl);
    const shape = pipelining === null ? '' : ` ${pipelining.connections}x${pipelining.depth}`;
    const key = `${url.origin} ${tlsIdentity(tls)}${shape}`;
    let pools = this.#byOrigin.get(key);
    if (pools === undefined) {
      const options = tls === null ? null : tlsConnectOptions(tls);
      const undici = this.#client === 'undici';
      pools = {
        calls: undici && pipelining === null ? undiciCalls(url, options, this.#limits) : portcullisCalls(url, options, this.#limits, pipelining),
        streams: undici ? undiciStreams(url, options, this.#limits) : portcullisStreams(url, options, this.#limits),
      };
      this.#byOrigin.set(key, pools);
    }
    return new HttpTransport(url, pools);
  }

  async close(): Promise<void> {
    const all = [...this.#byOrigin.values()];
    this.#byOrigin.clear();
    await Promise.all(all.flatMap((p) => [p.calls.close(), p.streams.close()]));
  }
}
