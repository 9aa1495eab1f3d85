// Verifications running, by token, so that concurrent first requests with one token share one.
// A fixed table of slots picked by the token's fingerprint rather than a Map: with a new token on
// every request a Map is filled and emptied continually, and the tables V8 reallocates for it
// outlive young-generation collections. Two tokens meeting in one slot only mean the later one
// is not shared: each request with it verifies on its own.

import { tokenFingerprint } from './token-cache.js';

export class InFlightVerifications<T> {
  readonly #tokens: Array<string | undefined>;
  readonly #pending: Array<Promise<T> | undefined>;
  readonly #mask: number;

  /** `slots`: a power of two, about the requests in flight at once. */
  constructor(slots = 256) {
    if (!(Number.isInteger(slots) && slots > 0 && (slots & (slots - 1)) === 0)) throw new RangeError(`slots must be a power of two, got ${slots}`);
    this.#mask = slots - 1;
    this.#tokens = Array.from({ length: slots }, () => undefined);
    this.#pending = Array.from({ length: slots }, () => undefined);
  }

  get(token: string): Promise<T> | undefined {
    const slot = this.#slot(token);
    return this.#tokens[slot] === token ? this.#pending[slot] : undefined;
  }

  /** Holds `pending` for `token` until `end`, if its slot is free. */
  add(token: string, pending: Promise<T>): void {
    const slot = this.#slot(token);
    if (this.#tokens[slot] !== undefined) return;
    this.#tokens[slot] = token;
    this.#pending[slot] = pending;
  }

  /** `pending` is over: later requests with `token` verify anew. */
  end(token: string, pending: Promise<T>): void {
    const slot = this.#slot(token);
    if (this.#pending[slot] !== pending) return;
    this.#tokens[slot] = undefined;
    this.#pending[slot] = undefined;
  }

  /** Forgets every verification running: requests from now on start their own. */
  clear(): void {
    this.#tokens.fill(undefined);
    this.#pending.fill(undefined);
  }

  #slot(token: string): number {
    return tokenFingerprint(token) & this.#mask;
  }
}
