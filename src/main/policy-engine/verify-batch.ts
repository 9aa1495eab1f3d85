// Tokens verified on the event loop a turn at a time: those that arrive in one turn are checked
// back to back at its end (before the turn's upstream writes, src/main/turn-end.ts), and each
// request goes on after. An RSA check leaves the CPU's caches to its own math: checks run
// together share warm OpenSSL state, and the requests that go on after them run warmer than
// requests each interrupted by one.

import type { VerifyTask } from '../../protocol/policy-engine.js';
import type { VerifyResult } from '../../protocol/worker-contract.js';
import { beforeWrites } from '../turn-end.js';

/** Checks run in one turn at most: a flood of new tokens must not stall the loop for its whole
 * length. The rest wait for the next turn, in order. */
export const VERIFY_BATCH_CAP = 32;

interface Waiting {
  readonly task: VerifyTask;
  readonly resolve: (result: VerifyResult) => void;
  readonly reject: (err: unknown) => void;
}

export class VerifyBatch {
  readonly #verify: (task: VerifyTask) => VerifyResult;
  readonly #cap: number;
  #waiting: Waiting[] = [];
  #queued = false;

  /** `verify`: one synchronous verification (a throw rejects that task alone). */
  constructor(verify: (task: VerifyTask) => VerifyResult, cap = VERIFY_BATCH_CAP) {
    if (!(Number.isInteger(cap) && cap > 0)) throw new RangeError(`cap must be a positive integer, got ${cap}`);
    this.#verify = verify;
    this.#cap = cap;
  }

  /** The task's result, once this turn's batch (or a later one, past the cap) has run. */
  verify(task: VerifyTask): Promise<VerifyResult> {
    return new Promise((resolve, reject) => {
      this.#waiting.push({ task, resolve, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#queued) return;
    this.#queued = true;
    beforeWrites(this.#run);
  }

  #run = (): void => {
    this.#queued = false;
    let due = this.#waiting;
    if (due.length > this.#cap) {
      this.#waiting = due.slice(this.#cap);
      due = due.slice(0, this.#cap);
      // Queued from inside the turn's immediates: it runs in the next turn.
      this.#schedule();
    } else this.#waiting = [];
    for (const w of due) {
      let result: VerifyResult;
      try {
        result = this.#verify(w.task);
      } catch (err) {
        w.reject(err);
        continue;
      }
      w.resolve(result);
    }
  };
}
