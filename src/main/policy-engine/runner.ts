// A generation's policy engine as the main thread uses it: the engine run inline, or with lists
// not seen before sent to a pool of actors running the same engine (pool-runner.ts). Inline mode
// (`workers: 0`) is also the benchmark baseline for the pool.

import type { DecideTask, FilterTask, PolicyEngine, RememberedAnswer, RsaVerifierInfo, VerifyTask } from '../../protocol/policy-engine.js';
import type { DecideResult, FilterResult, VerifyResult } from '../../protocol/worker-contract.js';
import { GatewayError } from '../../protocol/errors.js';
import type { Maybe } from '../maybe-async.js';
import { availableParallelism } from 'node:os';
import { VerifyBatch } from './verify-batch.js';

export interface EngineRunner {
  readonly mode: 'pool' | 'inline';
  readonly generation: number;
  /** where signatures are checked: on the loop (`verifyOnLoop`) or on libuv's pool */
  readonly signaturesOnLoop: boolean;
  /** the main thread's engine's, used where signatures are checked on the loop */
  readonly rsaVerifier: RsaVerifierInfo;
  /** Signatures are checked on the loop at the end of the turn (`signaturesOnLoop`,
   * verify-batch.ts) or on the libuv pool: a promise either way; a value is allowed. */
  verify(task: VerifyTask): Maybe<VerifyResult>;
  /** A value when decided on this thread (it always is today: one decision costs less than any hop). */
  decide(task: DecideTask): Maybe<DecideResult>;
  /** A value when filtered on this thread (inline, or a list the main thread remembers). */
  filter(task: FilterTask): Maybe<FilterResult>;
  /** The main thread's remembered answer to a list message still in bytes (the task without its
   * text), or null: then decode it and `filter` the text. */
  remembered(task: Omit<FilterTask, 'body'>, bytes: Uint8Array): RememberedAnswer | null;
  /** Tasks waiting for a worker (0 inline). */
  queueSize(): number;
  /** Characters the main thread's list cache holds (the pool's workers keep none). */
  listCacheChars(): number;
  /** Retires the runner: tasks already on the pool finish, then its threads stop. It keeps
   * answering (later tasks run on the main thread): requests that began under it may still
   * need it. Idempotent; resolves once the threads have exited. */
  close(): Promise<void>;
}

export class EngineOverloadedError extends GatewayError {
  constructor() {
    super('GW_OVERLOADED', 'the worker pool queue is full');
  }
}

/** Whether token signatures are checked on the event loop rather than on libuv's pool. The pool
 * pays when its thread runs on another CPU while the loop goes on; with one CPU to run on (taskset,
 * a one-CPU cpuset) the pool thread takes the same core, so the hand-off (wake-up, context
 * switches, completion callback) buys nothing and costs its own time. */
export function signaturesOnLoop(): boolean {
  return availableParallelism() === 1;
}

/** Every task on the main thread; signatures where `signaturesOnLoop` says, a turn's together. */
export function inlineRunner(engine: PolicyEngine, verifyOnLoop = signaturesOnLoop()): EngineRunner {
  const batch = verifyOnLoop ? new VerifyBatch((task) => engine.verify(task.providerSet, task.token, task.now)) : null;
  return {
    mode: 'inline',
    generation: engine.generation,
    signaturesOnLoop: verifyOnLoop,
    rsaVerifier: engine.rsaVerifier,
    verify: batch !== null ? (task) => batch.verify(task) : (task) => engine.verifyAsync(task),
    decide: (task) => engine.decide(task.ruleSet, task.ctx),
    filter: (task) => engine.filter(task.ruleSet, task),
    remembered: (task, bytes) => engine.rememberedAnswer(task.ruleSet, task, bytes),
    queueSize: () => 0,
    listCacheChars: () => engine.listCacheChars(),
    close: async () => {},
  };
}
