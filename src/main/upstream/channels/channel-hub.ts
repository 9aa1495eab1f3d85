// Sessions over message channels (stdio processes, legacy SSE connections). Unlike Streamable
// HTTP upstreams these live in this process: the sealed session id names a local session, so
// only the replica that opened it can serve it. Requests go upstream under ids the session
// chooses (clients' ids may collide: two POSTs, one id) and their answers come back under the
// client's id. An answer to no pending request (its client left, or the server made it up) is
// dropped: it may hold an unfiltered list and has no one to go to. Everything else the server
// sends (notifications, its own requests) goes to the session's GET stream, or waits in a
// bounded backlog until one is open.

import { randomUUID } from 'node:crypto';
import type { JsonRpcId } from '../../../protocol/jsonrpc.js';
import { replaceMessageId } from '../../../protocol/message-id.js';
import type { Channel, ChannelSpec } from './channel.js';
import { openSseChannel } from './sse-channel.js';
import { openStdioChannel } from './stdio-channel.js';
import { GatewayError } from '../../../protocol/errors.js';

const backlogLimit = 256;
/** The backlog's size (UTF-16 units) kept besides its count, as a message may be 64 MiB; under
 * what one GET stream may have pending, so replaying it does not close the stream. */
const backlogCharsLimit = 8 * 1024 * 1024;
const idleMs = 30 * 60_000;

/** Sessions one caller (sessionOwner) may hold at once: every `initialize` starts a process (or
 * an upstream connection), and clients rarely end their sessions, so past this the caller's
 * least recently used one that no GET stream holds is closed to make room. */
export const sessionsPerCaller = 32;
/** Sessions in all, past which a new one is refused (each is a process or a connection). */
export const maxSessions = 512;

/** A session refused for a limit: a 503 to the client, who may retry later. */
export class ChannelLimitError extends GatewayError {
  constructor(message: string) {
    super('GW_CHANNEL_LIMIT', message);
  }
}
/** A request the server never answers fails after this (HTTP upstreams: undici's 300 s headers timeout). */
const requestTimeoutMs = 300_000;

interface Pending {
  /** the id the client sent, restored in the answer */
  readonly clientId: JsonRpcId;
  resolve(text: string): void;
  reject(err: Error): void;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export class ChannelSession {
  readonly id = randomUUID();
  readonly #channel: Channel;
  readonly #pending = new Map<number, Pending>();
  readonly #log: (line: string) => void;
  #lastId = 0;
  readonly #listeners = new Set<(text: string) => void>();
  readonly #enders = new Set<() => void>();
  #gone = false;
  #backlog: string[] = [];
  #backlogChars = 0;
  lastUsed = Date.now();
  dropped = 0;

  /** sessionOwner of whoever opened it */
  readonly owner: string;

  constructor(channel: Channel, log: (line: string) => void, onGone: () => void, owner = '') {
    this.owner = owner;
    this.#channel = channel;
    this.#log = log;
    channel.onMessage = (text) => this.#deliver(text);
    channel.onClose = (reason) => {
      this.#gone = true;
      for (const p of this.#pending.values()) p.reject(new Error(reason));
      this.#pending.clear();
      // GET streams end with the process or connection they relay.
      for (const end of this.#enders) end();
      this.#enders.clear();
      this.#listeners.clear();
      onGone();
    };
  }

  #deliver(text: string): void {
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch {
      return; // not JSON-RPC: ignore (a stdio server printing noise on stdout)
    }
    if (!isRecord(v)) {
      // A batch could hide a list result from the GET stream's filter; 2025-06-18 has none.
      this.#log(`session ${this.id}: dropped a message that is not a JSON object`);
      return;
    }
    if (!('method' in v)) {
      this.#answer(v['id'], text);
      return;
    }
    if (this.#listeners.size === 0) {
      this.#backlog.push(text);
      this.#backlogChars += text.length;
      // The oldest go first; the newest is kept, however large.
      while (this.#backlog.length > backlogLimit || (this.#backlogChars > backlogCharsLimit && this.#backlog.length > 1)) {
        this.#backlogChars -= this.#backlog.shift()?.length ?? 0;
        this.dropped++;
      }
      return;
    }
    for (const l of this.#listeners) l(text);
  }

  /** A response: to the request it answers, under the client's id, or nowhere. */
  #answer(id: unknown, text: string): void {
    const waiting = typeof id === 'number' ? this.#pending.get(id) : undefined;
    if (waiting === undefined || typeof id !== 'number') {
      const shown = typeof id === 'number' || typeof id === 'string' ? JSON.stringify(id).slice(0, 64) : typeof id;
      this.#log(`session ${this.id}: dropped a response to no pending request (id ${shown})`);
      return;
    }
    this.#pending.delete(id);
    const answer = replaceMessageId(text, waiting.clientId);
    if (answer === null) waiting.reject(new Error('the answer has no id'));
    else waiting.resolve(answer);
  }

  /** Sends a request (`text`, with the client's `id`) and resolves with its answer. */
  request(id: JsonRpcId, text: string, signal: AbortSignal): Promise<string> {
    this.lastUsed = Date.now();
    const key = ++this.#lastId;
    return new Promise((resolve, reject) => {
      const upstream = replaceMessageId(text, key);
      if (upstream === null) {
        reject(new Error('the request has no id'));
        return;
      }
      if (!this.#channel.send(upstream)) {
        reject(new Error('upstream channel is closed'));
        return;
      }
      const timer = setTimeout(() => {
        if (this.#pending.delete(key)) reject(new Error(`no answer within ${requestTimeoutMs / 1000} s`));
      }, requestTimeoutMs);
      timer.unref();
      this.#pending.set(key, {
        clientId: id,
        resolve: (t) => {
          clearTimeout(timer);
          resolve(t);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      signal.addEventListener('abort', () => {
        if (this.#pending.delete(key)) {
          clearTimeout(timer);
          // The server may stop working on it (the MCP cancellation notice), and its other
          // requests go on: a late answer to this one finds no pending request and is dropped.
          this.#channel.send(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: key, reason: 'the gateway stopped waiting' } }));
          const reason: unknown = signal.reason;
          reject(reason instanceof Error ? reason : new Error('client went away'));
        }
      });
    });
  }

  /** Sends a notification or a response to the server's own request. */
  notify(text: string): boolean {
    this.lastUsed = Date.now();
    const cancelled = this.#cancellations(text);
    if (cancelled === null) return this.#channel.send(text);
    return cancelled.every((t) => this.#channel.send(t));
  }

  /**
   * A client's notifications/cancelled names its own request id: sent once for each pending
   * request under that id, with the id the server knows. None pending: the request is over, and
   * its id may by now be one the server knows for another request, so nothing is sent. Null for
   * any other message.
   */
  #cancellations(text: string): string[] | null {
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch {
      return null;
    }
    if (!isRecord(v) || v['method'] !== 'notifications/cancelled' || !isRecord(v['params'])) return null;
    const params = v['params'];
    const out: string[] = [];
    for (const [key, p] of this.#pending) {
      if (p.clientId === params['requestId']) out.push(JSON.stringify({ ...v, params: { ...params, requestId: key } }));
    }
    return out;
  }

  /** Server messages not answering a request, the backlog first; `onEnd` when the channel closes. */
  subscribe(listener: (text: string) => void, onEnd: () => void): () => void {
    this.lastUsed = Date.now();
    const backlog = this.#backlog;
    this.#backlog = [];
    this.#backlogChars = 0;
    for (const text of backlog) listener(text);
    if (this.#gone) {
      onEnd();
      return () => {};
    }
    this.#listeners.add(listener);
    this.#enders.add(onEnd);
    return () => {
      this.#listeners.delete(listener);
      this.#enders.delete(onEnd);
    };
  }

  get streaming(): boolean {
    return this.#listeners.size > 0;
  }

  close(): void {
    this.#channel.close();
  }

  closeAndWait(): Promise<void> {
    return this.#channel.closeAndWait();
  }
}

export interface ChannelLimits {
  readonly perCaller: number;
  readonly total: number;
}

export class ChannelHub {
  readonly #sessions = new Map<string, ChannelSession>();
  readonly #timer: NodeJS.Timeout;
  readonly #log: (line: string) => void;
  readonly #limits: ChannelLimits;
  /** opens in flight per caller, awaiting their channel: they count against the limits */
  readonly #opening = new Map<string, number>();
  #openingTotal = 0;
  /** sessions an open in flight closes once its channel is up; always in #sessions */
  readonly #doomed = new Set<ChannelSession>();
  #closing = false;

  constructor(log: (line: string) => void, limits: ChannelLimits = { perCaller: sessionsPerCaller, total: maxSessions }) {
    this.#log = log;
    this.#limits = limits;
    // Clients rarely DELETE their sessions; idle ones are reaped like agentgateway's 30 min TTL.
    this.#timer = setInterval(() => this.#reap(), 60_000);
    this.#timer.unref();
  }

  #reap(): void {
    const now = Date.now();
    for (const s of this.#sessions.values()) if (!s.streaming && now - s.lastUsed > idleMs) s.close();
  }

  /** `owner`: who opens it (sessionOwner), for the per-caller limit. */
  async open(spec: ChannelSpec, headers: Readonly<Record<string, string>>, owner: string): Promise<ChannelSession> {
    // The room is taken before the await and the session to close for it is closed after: opens
    // racing each other all passed the check when sessions counted only once open, and a failed
    // open had already cost the caller a live session.
    let victim = this.#makeRoom(owner);
    if (victim !== undefined) this.#doomed.add(victim);
    this.#opening.set(owner, (this.#opening.get(owner) ?? 0) + 1);
    this.#openingTotal++;
    let channel: Channel;
    try {
      channel = spec.kind === 'stdio'
        ? openStdioChannel(spec, (line) => this.#log(`${spec.cmd}: ${line}`))
        : await openSseChannel(spec.url, headers, 10_000, this.#log, spec.dispatcher);
    } finally {
      const left = (this.#opening.get(owner) ?? 1) - 1;
      if (left === 0) this.#opening.delete(owner);
      else this.#opening.set(owner, left);
      this.#openingTotal--;
      if (victim !== undefined) this.#doomed.delete(victim);
    }
    if (this.#closing) {
      // closeAll ran during the await: nothing may outlive it.
      channel.close();
      throw new Error('the gateway is closing');
    }
    if (victim !== undefined && this.#sessions.has(victim.id)) {
      // A GET stream took it meanwhile: another idle one goes, or this one is refused.
      if (victim.streaming) victim = this.#leastRecentlyUsedIdle(owner);
      if (victim === undefined) {
        channel.close();
        throw new ChannelLimitError(`this caller has ${this.#limits.perCaller} sessions open, all streaming`);
      }
      this.#log(`closing session ${victim.id}: its caller opened more than ${this.#limits.perCaller}`);
      this.end(victim.id);
    }
    const session: ChannelSession = new ChannelSession(channel, this.#log, () => this.#gone(session), owner);
    this.#sessions.set(session.id, session);
    return session;
  }

  /** Counts opens in flight as sessions, and sessions they will close as gone. Returns the
   * caller's session to close once the new one is open, if the caller is at its limit. */
  #makeRoom(owner: string): ChannelSession | undefined {
    const mine = [...this.#sessions.values()].filter((s) => s.owner === owner && !this.#doomed.has(s)).length + (this.#opening.get(owner) ?? 0);
    if (mine >= this.#limits.perCaller) {
      const idle = this.#leastRecentlyUsedIdle(owner);
      if (idle === undefined) throw new ChannelLimitError(`this caller has ${mine} sessions open or opening, all streaming or opening`);
      return idle;
    }
    const all = this.#sessions.size - this.#doomed.size + this.#openingTotal;
    if (all >= this.#limits.total) throw new ChannelLimitError(`${all} sessions open or opening, the most this gateway keeps`);
    return undefined;
  }

  #leastRecentlyUsedIdle(owner: string): ChannelSession | undefined {
    let lru: ChannelSession | undefined;
    for (const s of this.#sessions.values()) {
      if (s.owner !== owner || s.streaming || this.#doomed.has(s)) continue;
      if (lru === undefined || s.lastUsed < lru.lastUsed) lru = s;
    }
    return lru;
  }

  #gone(session: ChannelSession): void {
    this.#sessions.delete(session.id);
    this.#doomed.delete(session);
  }

  get(id: string): ChannelSession | undefined {
    return this.#sessions.get(id);
  }

  /** Ends a session now: its id is unknown from this call on, whatever the process still does. */
  end(id: string): void {
    const s = this.#sessions.get(id);
    if (s === undefined) return;
    this.#gone(s);
    s.close();
  }

  get size(): number {
    return this.#sessions.size;
  }

  /** Closes every session and waits for their processes to be gone. */
  async closeAll(): Promise<void> {
    clearInterval(this.#timer);
    this.#closing = true;
    const all = [...this.#sessions.values()];
    this.#sessions.clear();
    this.#doomed.clear();
    await Promise.all(all.map((s) => s.closeAndWait()));
  }
}
