// The pool mode of a generation's policy engine: Piscina actors (src/workers/actor.ts, loaded by
// URL) running the same engine as the main thread, which keeps `verify` and `decide` and sends
// them the lists it has not seen before.

import type { Worker } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { decodeFrame, encodeFrame } from '../../protocol/frame-codec.js';
import type { PolicyEngine } from '../../protocol/policy-engine.js';
import type { WorkerInit, WorkerTask } from '../../protocol/worker-contract.js';
import { asFilterResult } from '../../protocol/worker-results.js';
import { actorUrl } from './engine-module.js';
import { EngineOverloadedError, inlineRunner, type EngineRunner } from './runner.js';

/** Per-worker tasks in flight: with Piscina's default of 1 every task pays a thread wake-up;
 * 16 lets tasks queue in the worker's port. */
const tasksPerWorker = 16;

/** How long a retired pool waits for its tasks before it stops anyway. */
const closeWaitMs = 30_000;

/**
 * Resolves once every thread has loaded the actor (a Piscina worker's first message to its
 * parent says so), rejects if one exits first. Closing a pool whose worker is still loading
 * its module can abort the whole process on Node 20 (a fatal error in require(esm), on a reload
 * right after another under load), so a pool is handed out only
 * when it can be closed safely; a worker that cannot load fails start or reload here, clearly.
 */
function threadsLoaded(threads: readonly Worker[]): Promise<void> {
  return Promise.all(
    threads.map(
      (thread) =>
        new Promise<void>((resolve, reject) => {
          const onExit = (code: number): void => reject(new Error(`a worker thread exited with code ${code} while loading ${actorUrl.href}`));
          thread.once('message', () => {
            thread.off('exit', onExit);
            resolve();
          });
          thread.once('exit', onExit);
        }),
    ),
  ).then(() => undefined);
}

/** The pool takes list filtering. Token signatures are checked from the main thread (on libuv's
 * threads, or on the loop with one CPU: `signaturesOnLoop`), which costs less than a hop to a
 * worker. A single CEL decision costs
 * far less than the main-thread time any offload costs, so `decide` stays on the main thread, on
 * the same engine code. Filtered lists are remembered on the main thread (list-cache.ts):
 * recognising a list seen before costs less than the hop to a worker, so only lists not seen
 * before go to the pool. */
export async function createPoolRunner(init: WorkerInit, workers: number, engine: PolicyEngine, verifyOnLoop?: boolean): Promise<EngineRunner> {
  const pool = await ActorPool.start(init, workers);
  return {
    ...inlineRunner(engine, verifyOnLoop),
    mode: 'pool',
    filter: (task) => {
      const cached = engine.cachedFilter(task.ruleSet, task);
      if (cached !== null) return cached;
      // Retired (a reload, new keys, shutdown): the same engine on the main thread.
      if (pool.closing) return engine.filter(task.ruleSet, task);
      return pool.run(task).then((frame) => {
        const result = asFilterResult(frame);
        engine.rememberFilter(task.ruleSet, task, result);
        return result;
      });
    },
    queueSize: () => pool.queueSize,
    close: () => pool.close(),
  };
}

/** Piscina threads running the actor, each with the generation's engine, frames in and out. */
class ActorPool {
  readonly #pool: Piscina;
  readonly #maxQueue: number;
  // Tasks not yet settled: close() waits for them, since a closing pool rejects new ones and a
  // closed one would start a fresh worker for them that nobody stops.
  #running = 0;
  #onIdle: (() => void) | null = null;
  #closed: Promise<void> | null = null;

  private constructor(init: WorkerInit, workers: number) {
    this.#maxQueue = workers * tasksPerWorker * 64;
    this.#pool = new Piscina({
      filename: actorUrl.href,
      workerData: { init: encodeFrame({ ...init, listCacheChars: 0 }) },
      minThreads: workers,
      maxThreads: workers,
      concurrentTasksPerWorker: tasksPerWorker,
      // Workers are actors holding compiled state: never let them idle out and churn.
      idleTimeout: 2 ** 31 - 1,
      maxQueue: this.#maxQueue,
    });
  }

  /** Resolves once every thread has loaded the actor. */
  static async start(init: WorkerInit, workers: number): Promise<ActorPool> {
    const actors = new ActorPool(init, workers);
    try {
      await threadsLoaded(actors.#pool.threads);
    } catch (err) {
      await actors.#pool.destroy();
      throw err;
    }
    return actors;
  }

  get queueSize(): number {
    return this.#pool.queueSize;
  }

  /** close() has been called. */
  get closing(): boolean {
    return this.#closed !== null;
  }

  async run(task: WorkerTask): Promise<unknown> {
    if (this.#pool.queueSize >= this.#maxQueue) throw new EngineOverloadedError();
    this.#running++;
    let out: unknown;
    try {
      out = await this.#pool.run(encodeFrame(task));
    } finally {
      this.#running--;
      if (this.#running === 0) this.#onIdle?.();
    }
    if (!(out instanceof Uint8Array)) throw new TypeError('worker returned a non-binary frame');
    return decodeFrame(out);
  }

  /** Idempotent. */
  close(): Promise<void> {
    return (this.#closed ??= this.#drainAndClose());
  }

  async #drainAndClose(): Promise<void> {
    if (this.#running > 0) {
      // Bounded like Piscina's own close (closeTimeout, 30 s): a stuck task must not hold shutdown.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, closeWaitMs);
        timer.unref();
        this.#onIdle = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    await this.#pool.close();
  }
}
