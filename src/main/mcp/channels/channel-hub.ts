// Sessions over message channels (stdio processes, legacy SSE connections). Unlike Streamable
// HTTP upstreams these live in this process: the sealed session id names a local session, so
// only the replica that opened it can serve it. Answers are matched to requests by JSON-RPC id;
// everything else the server sends (notifications, its own requests) goes to the session's GET
// stream, or waits in a bounded backlog until one is open.

import { randomUUID } from 'node:crypto';
import type { Channel, ChannelSpec } from './channel.js';
import { openSseChannel } from './sse-channel.js';
import { openStdioChannel } from './stdio-channel.js';

const backlogLimit = 256;
const idleMs = 30 * 60_000;
/** A request the server never answers fails after this (HTTP upstreams: undici's 300 s headers timeout). */
const requestTimeoutMs = 300_000;

interface Pending {
  resolve(text: string): void;
  reject(err: Error): void;
}

export class ChannelSession {
  readonly id = randomUUID();
  readonly #channel: Channel;
  readonly #pending = new Map<string, Pending>();
  readonly #listeners = new Set<(text: string) => void>();
  readonly #enders = new Set<() => void>();
  #gone = false;
  #backlog: string[] = [];
  lastUsed = Date.now();
  dropped = 0;

  constructor(channel: Channel, onGone: () => void) {
    this.#channel = channel;
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
    let id: string | null = null;
    try {
      const v: unknown = JSON.parse(text);
      if (typeof v === 'object' && v !== null && !('method' in v) && 'id' in v) id = JSON.stringify(v.id);
    } catch {
      return; // not JSON-RPC: ignore (a stdio server printing noise on stdout)
    }
    const waiting = id === null ? undefined : this.#pending.get(id);
    if (waiting !== undefined && id !== null) {
      this.#pending.delete(id);
      waiting.resolve(text);
      return;
    }
    if (this.#listeners.size === 0) {
      if (this.#backlog.length >= backlogLimit) {
        this.#backlog.shift();
        this.dropped++;
      }
      this.#backlog.push(text);
      return;
    }
    for (const l of this.#listeners) l(text);
  }

  /** Sends a request and resolves with the text of its response. */
  request(id: string | number, text: string, signal: AbortSignal): Promise<string> {
    this.lastUsed = Date.now();
    const key = JSON.stringify(id);
    return new Promise((resolve, reject) => {
      if (!this.#channel.send(text)) {
        reject(new Error('upstream channel is closed'));
        return;
      }
      const timer = setTimeout(() => {
        if (this.#pending.delete(key)) reject(new Error(`no answer within ${requestTimeoutMs / 1000} s`));
      }, requestTimeoutMs);
      timer.unref();
      this.#pending.set(key, {
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
          reject(new Error('client went away'));
        }
      });
    });
  }

  notify(text: string): boolean {
    this.lastUsed = Date.now();
    return this.#channel.send(text);
  }

  /** Server messages not answering a request, the backlog first; `onEnd` when the channel closes. */
  subscribe(listener: (text: string) => void, onEnd: () => void): () => void {
    this.lastUsed = Date.now();
    const backlog = this.#backlog;
    this.#backlog = [];
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

export class ChannelHub {
  readonly #sessions = new Map<string, ChannelSession>();
  readonly #timer: NodeJS.Timeout;
  readonly #log: (line: string) => void;

  constructor(log: (line: string) => void) {
    this.#log = log;
    // Clients rarely DELETE their sessions; idle ones are reaped like agentgateway's 30 min TTL.
    this.#timer = setInterval(() => this.#reap(), 60_000);
    this.#timer.unref();
  }

  #reap(): void {
    const now = Date.now();
    for (const s of this.#sessions.values()) if (!s.streaming && now - s.lastUsed > idleMs) s.close();
  }

  async open(spec: ChannelSpec, headers: Readonly<Record<string, string>>): Promise<ChannelSession> {
    const channel = spec.kind === 'stdio'
      ? openStdioChannel(spec, (line) => this.#log(`${spec.cmd}: ${line}`))
      : await openSseChannel(spec.url, headers, 10_000);
    const session: ChannelSession = new ChannelSession(channel, () => this.#sessions.delete(session.id));
    this.#sessions.set(session.id, session);
    return session;
  }

  get(id: string): ChannelSession | undefined {
    return this.#sessions.get(id);
  }

  /** Ends a session now: its id is unknown from this call on, whatever the process still does. */
  end(id: string): void {
    const s = this.#sessions.get(id);
    this.#sessions.delete(id);
    s?.close();
  }

  get size(): number {
    return this.#sessions.size;
  }

  /** Closes every session and waits for their processes to be gone. */
  async closeAll(): Promise<void> {
    clearInterval(this.#timer);
    const all = [...this.#sessions.values()];
    this.#sessions.clear();
    await Promise.all(all.map((s) => s.closeAndWait()));
  }
}
