// Streamable HTTP upstreams: one undici Pool per origin for request/response traffic, and one for
// long-lived streams (GET event streams), so open streams never starve calls of connections.
// Requests go out on undici's dispatch API with the caller's handler as it is: no body stream,
// no promise, no AbortController per request (the relay's hot path). The calls pool has no undici
// timers: its idle guard (idle-guard.ts) gives the same limits without a timer per request.
// Both pools close a connection idle for keepAliveMs themselves, before the upstream's own idle
// timeout does (keepAliveLimits).

import { Pool } from 'undici';
import type { BackendTlsPolicy } from '../config/types.js';
import { tlsConnectOptions, tlsIdentity } from '../http/tls-client.js';
import { applyCredential } from '../upstream-auth/apply-credential.js';
import type { AnswerHandler } from './answer.js';
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

interface Pools {
  readonly calls: Pool;
  /** what bounds a call's wait for its head and its body's silences */
  readonly guard: IdleGuard;
  readonly streams: Pool;
}

export class HttpTransport implements Transport {
  readonly key: string;
  readonly #origin: string;
  /** path and query sent upstream */
  readonly #path: string;
  readonly #pools: Pools;

  constructor(url: URL, pools: Pools) {
    this.key = url.origin;
    this.#origin = url.origin;
    this.#path = `${url.pathname}${url.search}`;
    this.#pools = pools;
  }

  /** `answer` is watched for idle time when it is a GuardedCall (target calls, DELETEs). */
  send(req: TransportRequest, answer: AnswerHandler): void {
    const stream = req.method === 'GET';
    const pool = stream ? this.#pools.streams : this.#pools.calls;
    if (answer instanceof GuardedCall) answer.guard = stream ? null : this.#pools.guard;
    try {
      const path = req.query.length === 0 ? this.#path : withQuery(this.#path, req.query);
      pool.dispatch({ origin: this.#origin, path, method: req.method, headers: req.headers, body: req.body }, answer);
    } catch (err) {
      // a closed pool (the gateway is closing) throws instead of calling onError
      answer.onError(err instanceof Error ? err : new Error(String(err)));
    }
  }
}

/** The target's path with a credential's query parameters replaced or removed. */
function withQuery(pathAndQuery: string, edits: readonly QueryEdit[]): string {
  const removes = edits.map((e) => ({ kind: 'queryParameter' as const, name: e.name }));
  const inserts = edits.flatMap((e) => (e.value === null ? [] : [{ kind: 'queryParameter' as const, name: e.name, value: e.value }]));
  return applyCredential({ headers: [], pathAndQuery }, { removes, inserts }).pathAndQuery;
}

/** The pools of every origin the config names, shared by the targets that reach it the same
 * way (the same origin and backendTLS). */
export class HttpPools {
  readonly #byOrigin = new Map<string, Pools>();
  readonly #limits: UpstreamIdleLimits;

  constructor(limits: Partial<UpstreamIdleLimits> = {}) {
    this.#limits = { ...defaultUpstreamIdleLimits, ...limits };
  }

  transport(rawUrl: string, tls: BackendTlsPolicy | null): HttpTransport {
    const url = new URL(rawUrl);
    const key = `${url.origin} ${tlsIdentity(tls)}`;
    let pools = this.#byOrigin.get(key);
    if (pools === undefined) {
      const connect = tls === null ? {} : { connect: tlsConnectOptions(tls) };
      const keepAlive = keepAliveLimits(this.#limits.keepAliveMs);
      pools = {
        // No pipelining: a slow tool call would hold up every call queued behind it.
        calls: new Pool(url.origin, { connections: 256, pipelining: 1, ...keepAlive, headersTimeout: 0, bodyTimeout: 0, ...connect }),
        guard: new IdleGuard(this.#limits),
        // No body timeout: an event stream may stay quiet for a long time.
        streams: new Pool(url.origin, { connections: null, pipelining: 1, ...keepAlive, bodyTimeout: 0, ...connect }),
      };
      this.#byOrigin.set(key, pools);
    }
    return new HttpTransport(url, pools);
  }

  async close(): Promise<void> {
    const all = [...this.#byOrigin.values()];
    this.#byOrigin.clear();
    for (const p of all) p.guard.close();
    await Promise.all(all.flatMap((p) => [p.calls.destroy(), p.streams.destroy()]));
  }
}
