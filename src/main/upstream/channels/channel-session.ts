// One session over a message channel (a stdio process, a legacy SSE connection). Requests go
// upstream under ids the session chooses (clients' ids may collide: two POSTs, one id) and their
// answers come back under the client's id. An answer to no pending request (its client left, or
// the server made it up) is dropped: it may hold an unfiltered list and has no one to go to.
// Everything else the server sends (notifications, its own requests) goes to the session's GET
// stream, or waits in a bounded backlog until one is open.

import { randomUUID } from 'node:crypto';
import type { JsonRpcId } from '../../../protocol/jsonrpc.js';
import { replaceMessageId } from '../../../protocol/message-id.js';
import type { Channel } from './channel.js';
import { isRecord } from '../../../protocol/is-record.js';

const backlogLimit = 256;
/** The backlog's size (UTF-16 units) kept besides its count, as a message may be 64 MiB; under
 * what one GET stream may have pending, so replaying it does not close the stream. */
const backlogCharsLimit = 8 * 1024 * 1024;
/** A request the server never answers fails after this (HTTP upstreams: undici's 300 s headers timeout). */
const requestTimeoutMs = 300_000;

interface Pending {
  /** the id the client sent, restored in the answer */
  readonly clientId: JsonRpcId;
  resolve(text: string): void;
  reject(err: Error): void;
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
