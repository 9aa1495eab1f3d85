// The sessions over message channels (stdio processes, legacy SSE connections) of this process.
// Unlike Streamable HTTP upstreams these live in the gateway: the sealed session id names a local
// session, so only the replica that opened it can serve it. Opening one costs a process or a
// connection, so a caller holds a bounded number, the gateway too, and idle ones are reaped.

import type { Channel, ChannelSpec } from './channel.js';
import { ChannelSession } from './channel-session.js';
import { openSseChannel } from './sse-channel.js';
import { openStdioChannel } from './stdio-channel.js';
import { GatewayError } from '../../../protocol/errors.js';

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
