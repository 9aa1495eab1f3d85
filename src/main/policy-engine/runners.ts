// The gateway's engine runners: each generation's current one, and retired ones (replaced by a
// reload or by new keys) whose pool tasks are still finishing. closeAll() waits for every one, so
// no worker thread outlives the gateway.

import type { CacheCounts, WorkerInit } from '../../protocol/worker-contract.js';
import { loadPolicyEngineFactory } from './engine-module.js';
import { createPoolRunner } from './pool-runner.js';
import { inlineRunner, signaturesOnLoop, type EngineRunner } from './runner.js';

/** `listCounts`: where the main thread's list cache counts its lookups (the gateway's metrics). */
export async function createEngineRunner(init: WorkerInit, workers: number, listCounts?: CacheCounts, verifyOnLoop = signaturesOnLoop()): Promise<EngineRunner> {
  const createPolicyEngine = await loadPolicyEngineFactory();
  const engine = createPolicyEngine(init, listCounts);
  return workers > 0 ? createPoolRunner(init, workers, engine, verifyOnLoop) : inlineRunner(engine, verifyOnLoop);
}

export class EngineRunners {
  readonly #live = new Set<EngineRunner>();
  readonly #retiring = new Map<EngineRunner, Promise<void>>();
  readonly #creating = new Set<Promise<EngineRunner>>();
  readonly #workers: number;
  readonly #listCounts: CacheCounts | undefined;
  readonly #onCloseError: (err: unknown) => void;
  readonly #verifyOnLoop: boolean;
  #closing = false;

  constructor(workers: number, listCounts: CacheCounts | undefined, onCloseError: (err: unknown) => void, verifyOnLoop = signaturesOnLoop()) {
    this.#workers = workers;
    this.#listCounts = listCounts;
    this.#onCloseError = onCloseError;
    this.#verifyOnLoop = verifyOnLoop;
  }

  create(init: WorkerInit): Promise<EngineRunner> {
    const made = (async () => {
      const d = await createEngineRunner(init, this.#workers, this.#listCounts, this.#verifyOnLoop);
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
  retire(d: EngineRunner): Promise<void> {
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

  /** Every runner, current and retired, closed and its threads exited. */
  async closeAll(): Promise<void> {
    this.#closing = true;
    await Promise.allSettled([...this.#creating]);
    await Promise.all([...this.#live].map((d) => this.retire(d)));
  }
}
