// What one caller may hold of one upstream at once. An upstream's connections are shared by
// everyone (one pool per origin): a caller keeping hundreds of slow calls open would make every
// other caller queue behind them. Each caller (the token's subject, or the client's address when
// there is no token) gets a bounded number of calls, and of open event streams, per upstream;
// past it the request is refused at once, and others keep flowing.

import { Refusal } from '../refusals.js';

export interface CallerLimits {
  /** calls (POST, DELETE) one caller may have in flight to one upstream */
  readonly calls: number;
  /** GET event streams one caller may hold open to one upstream */
  readonly streams: number;
}

export const defaultCallerLimits: CallerLimits = { calls: 64, streams: 64 };

export type SlotKind = 'calls' | 'streams';

/** A caller's count of one kind at one upstream. */
interface Count {
  n: number;
}

type Tables = Readonly<Record<SlotKind, Map<string, Count>>>;

/** Counts per (upstream, kind, caller), a table per upstream and kind, so a call finds its
 * caller's count by the caller's text alone (no key built per call). A caller's entry stays at 0
 * once its calls are done: a Map emptied and filled again on every call allocates a new table
 * each time, and the table, held by a long-lived Map, outlives young-generation collections.
 * Entries at 0 are swept once there are more than `idleBound` of them. */
export class CallerSlots {
  readonly #limits: CallerLimits;
  readonly #upstreams = new Map<string, Tables>();
  readonly #onRefused: (upstream: string, kind: SlotKind) => void;
  readonly #idleBound: number;
  /** entries above 0 */
  #busy = 0;
  /** entries kept, over every table */
  #entries = 0;

  constructor(limits: CallerLimits, onRefused: (upstream: string, kind: SlotKind) => void = () => {}, idleBound = 1024) {
    this.#limits = limits;
    this.#onRefused = onRefused;
    this.#idleBound = idleBound;
  }

  /** Takes a slot: the function that gives it back (once, however often called), or the refusal. */
  acquire(upstream: string, kind: SlotKind, caller: string): (() => void) | Refusal {
    const table = this.#tablesOf(upstream)[kind];
    let count = table.get(caller);
    const limit = this.#limits[kind];
    if ((count?.n ?? 0) >= limit) {
      this.#onRefused(upstream, kind);
      const what = kind === 'calls' ? `${limit} calls in flight` : `${limit} event streams open`;
      return new Refusal('GW_CALLER_LIMIT', `Too many requests: this caller already has ${what} to this upstream`, { headers: [['retry-after', '1']] });
    }
    if (count === undefined) {
      if (this.#entries - this.#busy >= this.#idleBound) this.#sweep();
      count = { n: 0 };
      table.set(caller, count);
      this.#entries++;
    }
    if (count.n === 0) this.#busy++;
    count.n++;
    // Never swept while held: a sweep takes only entries at 0.
    const held = count;
    let holding = true;
    return () => {
      if (!holding) return;
      holding = false;
      held.n--;
      if (held.n === 0) this.#busy--;
    };
  }

  /** Callers with something in flight, for a gauge. */
  get size(): number {
    return this.#busy;
  }

  /** Entries kept, those at 0 included. */
  get entries(): number {
    return this.#entries;
  }

  #tablesOf(upstream: string): Tables {
    let tables = this.#upstreams.get(upstream);
    if (tables === undefined) {
      tables = { calls: new Map(), streams: new Map() };
      this.#upstreams.set(upstream, tables);
    }
    return tables;
  }

  #sweep(): void {
    for (const tables of this.#upstreams.values()) {
      for (const table of [tables.calls, tables.streams]) {
        for (const [caller, count] of table) {
          if (count.n !== 0) continue;
          table.delete(caller);
          this.#entries--;
        }
      }
    }
  }
}
