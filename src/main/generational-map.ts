// A bounded map that forgets in bulk: new entries go into a young map; once it holds half the
// bound it becomes the old map, and the previous old map is dropped whole. An entry read from
// the old map moves to the young one, so what is still in use outlives what is not. So it holds
// at most `max` entries, and an entry survives at least `max / 2` newer ones (more if read).
//
// Why not evict the oldest entry one at a time with `map.keys().next()`: V8's ordered hash
// tables keep deleted entries as holes until the table is rebuilt, so that call walks every
// hole left by earlier evictions, a cost that grows with the map and is paid on every fresh
// token and every new session id (bench/cache-micro.ts compares the two).

export class GenerationalMap<K, V> {
  #young = new Map<K, V>();
  #old = new Map<K, V>();
  readonly #half: number;

  /** `max`: the most entries ever held (the young and the old map hold up to half each). */
  constructor(max: number) {
    if (!(Number.isInteger(max) && max >= 2)) throw new RangeError(`max must be an integer ≥ 2, got ${max}`);
    this.#half = Math.floor(max / 2);
  }

  get(key: K): V | undefined {
    const young = this.#young.get(key);
    if (young !== undefined) return young;
    const old = this.#old.get(key);
    if (old !== undefined) {
      this.#old.delete(key);
      this.#add(key, old);
    }
    return old;
  }

  /** The value without moving it: for a caller that may drop it at once (an expired token). */
  peek(key: K): V | undefined {
    return this.#young.get(key) ?? this.#old.get(key);
  }

  set(key: K, value: V): void {
    this.#old.delete(key);
    this.#add(key, value);
  }

  delete(key: K): void {
    this.#young.delete(key);
    this.#old.delete(key);
  }

  /** Drops every entry the predicate picks. */
  deleteWhere(pick: (value: V, key: K) => boolean): void {
    for (const m of [this.#young, this.#old]) for (const [k, v] of m) if (pick(v, k)) m.delete(k);
  }

  get size(): number {
    return this.#young.size + this.#old.size;
  }

  #add(key: K, value: V): void {
    if (this.#young.size >= this.#half && !this.#young.has(key)) {
      this.#old = this.#young;
      this.#young = new Map();
    }
    this.#young.set(key, value);
  }
}
