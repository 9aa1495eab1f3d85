// The keep-alive connections to one origin: a request goes out on an idle connection (the most
// recently used), or waits in order for one while a new one opens (up to `connections`). A
// connection that fails to open fails the request waiting longest, one per failed attempt, so an
// upstream that is down fails every caller without a storm of attempts per request. Idle
// connections close after the server's Keep-Alive timeout (less a margin) or ours, whichever is
// shorter. Requests are written at the end of the event loop's turn (see Connection.flush), all
// of the turn's together.
// Timeouts are checked once a second over all connections, rather than a timer each.

import type { TlsConnectOptions } from '../../http/tls-client.js';
import type { AnswerHandler } from '../answer.js';
import { Connector, type Origin, originOf } from './connect.js';
import { Connection, type ConnectionOptions, type ConnectionOwner } from './connection.js';
import { H1Error } from './errors.js';
import { Exchange, type ExchangeHolder } from './exchange.js';
import { FieldLinesCache, type RequestParts, requestBytes } from './request-head.js';
import { atTurnEnd } from '../../turn-end.js';

export interface H1PoolOptions extends ConnectionOptions {
  /** most connections open at once; null: no limit */
  readonly connections: number | null;
}

/** undici's defaults where the gateway keeps them; no pipelining. */
export const H1_DEFAULTS = { connectMs: 10_000, headersMs: 300_000, bodyMs: 300_000, keepAliveMs: 4_000, depth: 1 } as const;

const TICK_MS = 1_000;

function clientClosed(): H1Error {
  return new H1Error('GW_UPSTREAM_CLIENT_CLOSED', 'upstream client closed');
}

export class H1Pool implements ConnectionOwner, ExchangeHolder {
  readonly #origin: Origin;
  readonly #connector: Connector;
  readonly #options: H1PoolOptions;
  readonly #all = new Set<Connection>();
  /** idle connections, the most recently used last */
  readonly #idle: Connection[] = [];
  /** requests waiting for a connection, oldest first */
  readonly #queue: Exchange[] = [];
  #connecting = 0;
  /** #serveQueue is running (a connection it closes does not start it again) */
  #serving = false;
  /** how often the timeouts are checked: a second, or half the shortest timeout */
  readonly #tickMs: number;
  #timer: NodeJS.Timeout | null = null;
  #closed = false;
  /** connections with requests to write at the end of this turn */
  #dirty: Connection[] = [];
  #flushQueued = false;
  /** an answer of this origin was an event stream: no more pipelining */
  #streams = false;
  readonly #fieldLines = new FieldLinesCache();

  constructor(url: URL, tls: TlsConnectOptions | null, options: H1PoolOptions) {
    this.#origin = originOf(url);
    this.#connector = new Connector(this.#origin, tls);
    this.#options = options;
    const shortest = Math.min(...[options.connectMs, options.headersMs, options.bodyMs, options.keepAliveMs].filter((ms) => ms > 0));
    this.#tickMs = Math.max(10, Math.min(TICK_MS, shortest / 2));
  }

  /** Sends the request; the answer or the failure goes to `handler` (onConnect first, unless the
   * request is refused before anything is sent). Never throws. */
  dispatch(req: RequestParts, handler: AnswerHandler): void {
    if (this.#closed) {
      handler.onError(clientClosed());
      return;
    }
    const request = requestBytes(req, this.#origin.hostLine, this.#fieldLines);
    if (request instanceof H1Error) {
      handler.onError(request);
      return;
    }
    const ex = new Exchange(handler, request, this);
    handler.onConnect(ex.abort);
    if (ex.over) return;
    this.#queue.push(ex);
    this.#serveQueue();
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#stopTimer();
    for (const ex of this.#queue.splice(0)) ex.fail(clientClosed());
    const all = [...this.#all];
    for (const c of all) c.destroy(clientClosed());
    await Promise.all(all.map((c) => c.closed()));
  }

  /** ExchangeHolder: a waiting request was aborted. */
  drop(ex: Exchange): void {
    const i = this.#queue.indexOf(ex);
    if (i >= 0) this.#queue.splice(i, 1);
  }

  // --- ConnectionOwner ---

  ready(c: Connection): void {
    this.#connecting--;
    this.free(c);
  }

  free(c: Connection): void {
    if (this.#options.depth > 1) {
      this.#fill(c);
      if (c.inflight === 0 && !this.#idle.includes(c)) {
        c.park(performance.now());
        this.#idle.push(c);
      }
      return;
    }
    const ex = this.#queue.shift();
    if (ex !== undefined) c.send(ex, performance.now());
    else {
      c.park(performance.now());
      this.#idle.push(c);
    }
  }

  get streams(): boolean {
    return this.#streams;
  }

  streamed(_c: Connection, unsent: Exchange[]): void {
    this.#streams = true;
    for (const c of this.#all) c.stopPipelining();
    this.#requeue(unsent);
    if (!this.#serving) this.#serveQueue();
  }

  /** Requests a connection took but did not write go first, in their order. */
  #requeue(unsent: Exchange[]): void {
    for (const ex of unsent) ex.holder = this;
    if (this.#closed) for (const ex of unsent) ex.fail(clientClosed());
    else this.#queue.unshift(...unsent);
  }

  /** Gives a pipelining connection the waiting requests it has room for. */
  #fill(c: Connection): void {
    let room = c.room;
    if (room <= 0 || this.#queue.length === 0) return;
    const now = performance.now();
    while (room > 0) {
      const ex = this.#queue.shift();
      if (ex === undefined) return;
      c.send(ex, now);
      room--;
    }
  }

  dirty(c: Connection): void {
    this.#dirty.push(c);
    if (this.#flushQueued) return;
    this.#flushQueued = true;
    atTurnEnd(this.#flush);
  }

  /** The requests of a turn leave together, after everything the turn read was handled. */
  #flush = (): void => {
    this.#flushQueued = false;
    const dirty = this.#dirty;
    this.#dirty = [];
    for (const c of dirty) c.flush();
  };

  closed(c: Connection, err: Error | null, connected: boolean, unsent: Exchange[]): void {
    this.#all.delete(c);
    this.#requeue(unsent);
    const i = this.#idle.lastIndexOf(c);
    if (i >= 0) this.#idle.splice(i, 1);
    if (!connected) {
      this.#connecting--;
      if (!this.#closed) this.#queue.shift()?.fail(err ?? new H1Error('GW_UPSTREAM_CLOSED', 'upstream connection closed while opening'));
    }
    if (this.#closed) return;
    if (!this.#serving) this.#serveQueue();
    if (this.#all.size === 0 && this.#queue.length === 0) this.#stopTimer();
  }

  /** Gives waiting requests the idle connections, and opens connections for the rest. */
  #serveQueue(): void {
    this.#serving = true;
    const now = performance.now();
    if (this.#options.depth > 1) this.#servePipelined(now);
    else this.#serveIdle(now);
    const max = this.#options.connections;
    while (this.#queue.length > this.#connecting && (max === null || this.#all.size < max)) this.#open();
    this.#serving = false;
  }

  /** One request per connection: the most recently used idle one. */
  #serveIdle(now: number): void {
    while (this.#queue.length > 0) {
      const c = this.#idle.pop();
      if (c === undefined) break;
      if (!c.reusable || now - c.idleSince > c.idleTimeoutMs) {
        c.destroy(null);
        continue;
      }
      const ex = this.#queue.shift();
      if (ex !== undefined) c.send(ex, now);
    }
  }

  /** Several requests per connection: each goes to the connection with the fewest in flight
   * that has room, so a turn's requests spread over the connections (one write each). */
  #servePipelined(now: number): void {
    while (this.#queue.length > 0) {
      let best: Connection | null = null;
      for (const c of this.#all) {
        if (c.room > 0 && (best === null || c.inflight < best.inflight)) best = c;
      }
      if (best === null) return;
      if (best.inflight === 0) {
        const i = this.#idle.indexOf(best);
        if (i >= 0) this.#idle.splice(i, 1);
        if (now - best.idleSince > best.idleTimeoutMs) {
          best.destroy(null);
          continue;
        }
      }
      const ex = this.#queue.shift();
      if (ex !== undefined) best.send(ex, now);
    }
  }

  #open(): void {
    this.#connecting++;
    const c = new Connection(this.#connector, this, this.#options);
    this.#all.add(c);
    this.#timer ??= setInterval(() => this.#tick(), this.#tickMs).unref();
  }

  #tick(): void {
    const now = performance.now();
    for (const c of [...this.#all]) c.check(now);
    for (let i = this.#idle.length - 1; i >= 0; i--) {
      const c = this.#idle[i];
      if (c !== undefined && now - c.idleSince > c.idleTimeoutMs) c.destroy(null);
    }
    if (this.#all.size === 0 && this.#queue.length === 0) this.#stopTimer();
  }

  #stopTimer(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }
}
