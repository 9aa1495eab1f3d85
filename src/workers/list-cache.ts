// Filtered list results, remembered per caller. Agents fetch the same `tools/list` again and
// again (many on every turn), and the upstream answers with the same text every time but for
// the JSON-RPC id. Filtering it means scanning every byte, while recognising it again is an
// `indexOf` of the remembered `result` text. What the filter made of that text depends only on
// the rule set, the list kind, the target, the prefix mode and the CEL context (claims, and
// request/source where the rules read them), all of which make up the key, so a hit answers
// exactly what filtering would. (When the rules read `request`, its headers are part of the key,
// the caller's token among them: held here as in the verified-token cache, never logged.)
//
// Bounded by what is held (remembered text and its filtered form, as characters and as UTF-8
// bytes), oldest key out first.

import type { CacheCounts } from '../protocol/worker-contract.js';

export interface CachedList {
  /** the `result` value's text as the upstream sent it (an object, scanned strictly by this
   * engine or by a pool worker of the same generation before it was remembered) */
  readonly result: string;
  /** what filtering made of it, or null when it was left as it is */
  readonly filtered: string | null;
  readonly kept: number;
  readonly removed: number;
  readonly ruleErrors: number;
}

/** A remembered list as held: its texts, and their UTF-8 bytes, so an answer that arrives as
 * bytes is recognised and answered without decoding it or encoding the answer again. */
export interface HeldList extends CachedList {
  readonly resultBytes: Buffer;
  readonly filteredBytes: Buffer | null;
}

/** Where a remembered result occurs in an answer (a text's characters or a buffer's bytes). */
export interface ListHit {
  readonly entry: HeldList;
  readonly at: number;
}

/** Different `result` texts remembered per key (pages of a paginated list, a changed list). */
const PER_KEY = 4;

export class FilteredListCache {
  readonly #byKey = new Map<string, HeldList[]>();
  readonly #maxChars: number;
  readonly #counts: CacheCounts;
  #chars = 0;

  /** `counts`: where lookups are counted (the gateway's metrics), else a private tally. */
  constructor(maxChars: number, counts: CacheCounts = { hits: 0, misses: 0 }) {
    this.#maxChars = maxChars;
    this.#counts = counts;
  }

  get hits(): number {
    return this.#counts.hits;
  }

  get misses(): number {
    return this.#counts.misses;
  }

  /** A remembered result whose text occurs in `text`, and where: at `hint` (where the message's
   * `result` most likely starts) if it is there, else the first occurrence: comparing a slice at
   * one place costs a fraction of a search (`indexOf`, or `startsWith`, slower still). Where it
   * was found does not matter for correctness: the caller checks
   * that this occurrence is the message's one top-level `result`. */
  find(key: string, text: string, hint: number): ListHit | null {
    return this.#hit(key, (entry) => {
      const end = hint + entry.result.length;
      return hint >= 0 && end <= text.length && text.slice(hint, end) === entry.result ? hint : text.indexOf(entry.result);
    });
  }

  /** find's search in an answer's bytes: `at` is a byte offset. */
  findBytes(key: string, bytes: Buffer, hint: number): ListHit | null {
    return this.#hit(key, (entry) => {
      const r = entry.resultBytes;
      const end = hint + r.length;
      return hint >= 0 && end <= bytes.length && bytes.compare(r, 0, r.length, hint, end) === 0 ? hint : bytes.indexOf(r);
    });
  }

  /** The first entry under `key` that `at` finds (-1: not there), the key made the most recent. */
  #hit(key: string, at: (entry: HeldList) => number): ListHit | null {
    const entries = this.#byKey.get(key);
    if (entries === undefined) return null;
    for (const entry of entries) {
      const found = at(entry);
      if (found >= 0) {
        // Recently used keys go last, so eviction takes the least recently used.
        this.#byKey.delete(key);
        this.#byKey.set(key, entries);
        return { entry, at: found };
      }
    }
    return null;
  }

  /** Counts a lookup: answered from the cache, or not. */
  count(hit: boolean): void {
    if (hit) this.#counts.hits++;
    else this.#counts.misses++;
  }

  add(key: string, list: CachedList): void {
    const entries = this.#byKey.get(key) ?? [];
    // Already there (found, but not where a message's result is): keep one copy.
    if (entries.some((e) => e.result === list.result)) return;
    const entry: HeldList = { ...list, resultBytes: Buffer.from(list.result), filteredBytes: list.filtered === null ? null : Buffer.from(list.filtered) };
    const size = charsOf(key, entry);
    if (size > this.#maxChars / 4) return; // one huge list must not flush everyone else's
    this.#byKey.delete(key);
    this.#byKey.set(key, entries); // last: evicted last
    entries.unshift(entry);
    this.#chars += size;
    while (entries.length > PER_KEY) {
      const old = entries.pop();
      if (old !== undefined) this.#chars -= charsOf(key, old);
    }
    for (const [k, held] of this.#byKey) {
      if (this.#chars <= this.#maxChars) break;
      for (const old of held) this.#chars -= charsOf(k, old);
      this.#byKey.delete(k);
    }
  }

  get chars(): number {
    return this.#chars;
  }
}

/** What an entry holds: its characters and its bytes. */
function charsOf(key: string, entry: HeldList): number {
  return key.length + entry.result.length + (entry.filtered?.length ?? 0) + entry.resultBytes.length + (entry.filteredBytes?.length ?? 0);
}
