// The decider runs the worker functions (token verification, CEL decisions, list filtering)
// either on a Piscina pool of actor threads or inline on the main thread (`workers: 0`).
// Both load the same module, src/workers/actor.js, by URL: main never imports worker code
// statically, and the inline mode is the benchmark baseline for the pool.

import type { Worker } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { decodeFrame, encodeFrame } from '../../protocol/frame-codec.js';
import type { CacheCounts, CelContext, DecideResult, FilterResult, VerifyResult, WorkerInit, WorkerTask } from '../../protocol/worker-contract.js';
import { asFilterResult, asVerifyResult } from '../../protocol/worker-results.js';

type TaskOf<K extends WorkerTask['op']> = Extract<WorkerTask, { op: K }>;

export interface Decider {
  readonly mode: 'pool' | 'inline';
  readonly generation: number;
  verify(task: TaskOf<'verify'>): Promise<VerifyResult>;
  decide(task: TaskOf<'decide'>): Promise<DecideResult>;
  filter(task: TaskOf<'filter'>): Promise<FilterResult>;
  /** Tasks waiting for a worker (0 inline). */
  queueSize(): number;
  /** Characters the main thread's list cache holds (the pool's workers keep none). */
  listCacheChars(): number;
  /** Retires the decider: tasks already on the pool finish, then its threads stop. It keeps
   * answering (later tasks run on the main thread): requests that began under it may still
   * need it. Idempotent; resolves once the threads have exited. */
  close(): Promise<void>;
}

export class DeciderOverloadedError extends Error {
  readonly code = 'GW_OVERLOADED';
  constructor() {
    super('the worker pool queue is full');
    this.name = 'DeciderOverloadedError';
  }
}

const actorUrl = new URL('../../workers/actor.js', import.meta.url);

/** Per-worker tasks in flight: with Piscina's default of 1 every task pays a thread wake-up
 * (40–57 µs on this VM); 16 lets tasks queue in the worker's port (component-costs.md §3.2). */
const tasksPerWorker = 16;

/** How long a retired pool waits for its tasks before it stops anyway. */
const closeWaitMs = 30_000;

/** `listCounts`: where the main thread's list cache counts its lookups (the gateway's metrics). */
export async function createDecider(init: WorkerInit, workers: number, listCounts?: CacheCounts): Promise<Decider> {
  const inline = await createInlineDecider(init, listCounts);
  return workers > 0 ? createPoolDecider(init, workers, inline) : inline.decider;
}

/**
 * Resolves once every thread has loaded the actor (a Piscina worker's first message to its
 * parent says so), rejects if one exits first. Closing a pool whose worker is still loading
 * its module can abort the whole process on Node 20 (a fatal error in require(esm), seen once
 * in the test suite under load, on a reload right after another), so a pool is handed out only
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

/** The pool takes list filtering. Token signatures are checked from the main thread on libuv's
 * threads (~4–6 µs of event-loop time, against ~40 µs for a hop to a worker under load); A/B,
 * fresh tokens with --workers 1: ES256 1.05× req/s at 0.86× CPU, EdDSA 1.06× at 0.84× against
 * sending them to the pool. A single CEL decision costs ~0.2 µs, far less than the ~10 µs of
 * main-thread time any offload costs (component-costs.md §2b, §3.2), so `decide` stays on the
 * main thread, on the same engine code. Filtered lists are remembered on the main thread
 * (list-cache.ts): recognising a list seen before costs a few µs, less than the hop to a worker,
 * so only lists not seen before go to the pool. */
async function createPoolDecider(init: WorkerInit, workers: number, inline: InlineDecider): Promise<Decider> {
  const maxQueue = workers * tasksPerWorker * 64;
  const pool = new Piscina({
    filename: actorUrl.href,
    workerData: { init: encodeFrame({ ...init, listCacheChars: 0 }) },
    minThreads: workers,
    maxThreads: workers,
    concurrentTasksPerWorker: tasksPerWorker,
    // Workers are actors holding compiled state: never let them idle out and churn.
    idleTimeout: 2 ** 31 - 1,
    maxQueue,
  });
  try {
    await threadsLoaded(pool.threads);
  } catch (err) {
    await pool.destroy();
    throw err;
  }
  // Pool tasks not yet settled: close() waits for them, since a closing pool rejects new ones
  // and a closed one would start a fresh worker for them that nobody stops.
  let running = 0;
  let onIdle: (() => void) | null = null;
  let closed: Promise<void> | null = null;
  async function run(task: WorkerTask): Promise<unknown> {
    if (pool.queueSize >= maxQueue) throw new DeciderOverloadedError();
    running++;
    let out: unknown;
    try {
      out = await pool.run(encodeFrame(task));
    } finally {
      running--;
      if (running === 0) onIdle?.();
    }
    if (!(out instanceof Uint8Array)) throw new TypeError('worker returned a non-binary frame');
    return decodeFrame(out);
  }
  async function drainAndClose(): Promise<void> {
    if (running > 0) {
      // Bounded like Piscina's own close (closeTimeout, 30 s): a stuck task must not hold shutdown.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, closeWaitMs);
        timer.unref();
        onIdle = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    await pool.close();
  }
  return {
    mode: 'pool',
    generation: init.generation,
    verify: (task) => inline.decider.verify(task),
    decide: (task) => inline.decider.decide(task),
    filter: async (task) => {
      const cached = inline.engine.cachedFilter(task.ruleSet, task);
      if (cached !== null) return cached;
      // Retired (a reload, new keys, shutdown): the same engine on the main thread.
      if (closed !== null) return inline.engine.filter(task.ruleSet, task);
      const result = asFilterResult(await run(task));
      inline.engine.rememberFilter(task.ruleSet, task, result);
      return result;
    },
    queueSize: () => pool.queueSize,
    listCacheChars: () => inline.engine.listCacheChars(),
    close: () => (closed ??= drainAndClose()),
  };
}

/** What the main thread uses of an engine it loaded (src/workers/engine.ts, by URL). */
interface InlineEngine {
  run(task: WorkerTask): unknown;
  // Typed like cachedFilter: this module's own results need no narrowing, unlike a worker's frame.
  decide(ruleSet: number, ctx: CelContext): DecideResult;
  filter(ruleSet: number, task: TaskOf<'filter'>): FilterResult;
  verifyAsync(task: TaskOf<'verify'>): Promise<unknown>;
  cachedFilter(ruleSet: number, task: TaskOf<'filter'>): FilterResult | null;
  rememberFilter(ruleSet: number, task: TaskOf<'filter'>, result: FilterResult): void;
  listCacheChars(): number;
}

interface InlineDecider {
  readonly decider: Decider;
  readonly engine: InlineEngine;
}

function isEngineFactory(v: unknown): v is (init: WorkerInit, listCounts?: CacheCounts) => unknown {
  return typeof v === 'function';
}

function isInlineEngine(v: unknown): v is InlineEngine {
  return (
    typeof v === 'object' &&
    v !== null &&
    'run' in v &&
    typeof v.run === 'function' &&
    'decide' in v &&
    typeof v.decide === 'function' &&
    'filter' in v &&
    typeof v.filter === 'function' &&
    'verifyAsync' in v &&
    typeof v.verifyAsync === 'function' &&
    'cachedFilter' in v &&
    typeof v.cachedFilter === 'function' &&
    'rememberFilter' in v &&
    typeof v.rememberFilter === 'function' &&
    'listCacheChars' in v &&
    typeof v.listCacheChars === 'function'
  );
}

async function createInlineDecider(init: WorkerInit, listCounts: CacheCounts | undefined): Promise<InlineDecider> {
  const mod: unknown = await import(actorUrl.href);
  const factory = typeof mod === 'object' && mod !== null && 'createEngine' in mod ? mod.createEngine : undefined;
  if (!isEngineFactory(factory)) throw new TypeError(`${actorUrl.href} does not export createEngine`);
  const engine: unknown = factory(init, listCounts);
  if (!isInlineEngine(engine)) throw new TypeError('createEngine did not return an engine');
  const decider: Decider = {
    mode: 'inline',
    generation: init.generation,
    verify: async (task) => asVerifyResult(await engine.verifyAsync(task)),
    decide: async (task) => engine.decide(task.ruleSet, task.ctx),
    filter: async (task) => engine.filter(task.ruleSet, task),
    queueSize: () => 0,
    listCacheChars: () => engine.listCacheChars(),
    close: async () => {},
  };
  return { decider, engine };
}
