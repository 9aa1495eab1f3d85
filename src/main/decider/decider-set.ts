// The gateway's deciders: each generation's current one, and retired ones (replaced by a reload
// or by new keys) whose pool tasks are still finishing. closeAll() waits for every one, so no
// worker thread outlives the gateway.

import type { CacheCounts, WorkerInit } from '../../protocol/worker-contract.js';
import { createDecider, type Decider } from './decider.js';

export class DeciderSet {
  readonly #live = new Set<Decider>();
  readonly #retiring = new Map<Decider, Promise<void>>();
  readonly #creating = new Set<Promise<Decider>>();
  readonly #workers: number;
  readonly #listCounts: CacheCounts | undefined;
  readonly #onCloseError: (err: unknown) => void;
  #closing = false;

  constructor(workers: number, listCounts: CacheCounts | undefined, onCloseError: (err: unknown) => void) {
    this.#workers = workers;
    this.#listCounts = listCounts;
    this.#onCloseError = onCloseError;
  }

  create(init: WorkerInit): Promise<Decider> {
    const made = (async () => {
      const d = await createDecider(init, this.#workers, this.#listCounts);
      this.#live.add(d);
      // Built while the gateway was closing (a reload or new keys racing close): no threads for it.
      if (this.#closing) void this.retire(d);
      return d;
    })();
    this.#creating.add(made);
    const forget = (): void => void this.#creating.delete(made);
    made.then(forget, forget);
    return made;
  }

  /** Its pool stops once the tasks it is running finish; it still answers anyone holding it. */
  retire(d: Decider): Promise<void> {
    let done = this.#retiring.get(d);
    if (done === undefined) {
      done = d
        .close()
        .catch(this.#onCloseError)
        .finally(() => {
          this.#live.delete(d);
          this.#retiring.delete(d);
        });
      this.#retiring.set(d, done);
    }
    return done;
  }

  /** Every decider, current and retired, closed and its threads exited. */
  async closeAll(): Promise<void> {
    this.#closing = true;
    await Promise.allSettled([...this.#creating]);
    await Promise.all([...this.#live].map((d) => this.retire(d)));
  }
}
