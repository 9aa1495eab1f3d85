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

/** Counts per (upstream, kind, caller). A caller's entry stays at 0 once its calls are done:
 * a Map emptied and filled again on every call allocates a new table each time, and the table,
 * held by a long-lived Map, outlives young-generation collections. Entries at 0 are swept once
 * there are more than `idleBound` of them. */
export class CallerSlots {
  readonly #limits: CallerLimits;
  readonly #held = new Map<string, number>();
  readonly #onRefused: (upstream: string, kind: SlotKind) => void;
  readonly #idleBound: number;
  /** entries above 0 */
  #busy = 0;

  constructor(limits: CallerLimits, onRefused: (upstream: string, kind: SlotKind) => void = () => {}, idleBound = 1024) {
    this.#limits = limits;
    this.#onRefused = onRefused;
    this.#idleBound = idleBound;
  }

  /** Takes a slot: the function that gives it back (once, however often called), or the refusal. */
  acquire(upstream: string, kind: SlotKind, caller: string): (() => void) | Refusal {
    // The caller's text is the sender's: kept apart from the other parts by a separator no
    // upstream key or kind contains.
    const key = `${upstream}\u0000${kind}\u0000${caller}`;
    const n = this.#held.get(key);
    const limit = this.#limits[kind];
    if ((n ?? 0) >= limit) {
      this.#onRefused(upstream, kind);
      const what = kind === 'calls' ? `${limit} calls in flight` : `${limit} event streams open`;
      return new Refusal('GW_CALLER_LIMIT', `Too many requests: this caller already has ${what} to this upstream`, { headers: [['retry-after', '1']] });
    }
    if (n === undefined && this.#held.size - this.#busy >= this.#idleBound) this.#sweep();
    if (n === undefined || n === 0) this.#busy++;
    this.#held.set(key, (n ?? 0) + 1);
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      const left = (this.#held.get(key) ?? 1) - 1;
      this.#held.set(key, left);
      if (left === 0) this.#busy--;
    };
  }

  /** Callers with something in flight, for a gauge. */
  get size(): number {
    return this.#busy;
  }

  /** Entries kept, those at 0 included. */
  get entries(): number {
    return this.#held.size;
  }

  #sweep(): void {
    for (const [key, n] of this.#held) if (n === 0) this.#held.delete(key);
  }
}
