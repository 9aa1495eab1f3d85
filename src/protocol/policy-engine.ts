// The policy engine: one config generation's keys and rules, imported and compiled once, that
// verifies tokens, decides CEL rules and filters lists, answering plain data. src/workers
// implements it (engine.ts) and runs it in the pool's actors, frames in and out (actor.ts); the
// main thread runs the same implementation inline through this interface. The main thread never
// imports src/workers: it loads the actor module by URL and takes its factory, exported under
// `policyEngineFactoryName`, as a PolicyEngineFactory (src/main/policy-engine/engine-module.ts).

import type {
  CacheCounts,
  CelContext,
  DecideResult,
  FilterResult,
  VerifyResult,
  WorkerInit,
  WorkerResult,
  WorkerTask,
} from './worker-contract.js';

export type VerifyTask = Extract<WorkerTask, { op: 'verify' }>;
export type DecideTask = Extract<WorkerTask, { op: 'decide' }>;
export type FilterTask = Extract<WorkerTask, { op: 'filter' }>;

/** A list to filter: a filter task without its op and rule set (a filter task will do). */
export type FilterRequest = Omit<FilterTask, 'op' | 'ruleSet'>;

/** A remembered list's answer to a message given as UTF-8 bytes: the bytes to send (null: the
 * message as it came), and the counts filtering gave. */
export interface RememberedAnswer {
  readonly body: Uint8Array | null;
  readonly kept: number;
  readonly removed: number;
  readonly ruleErrors: number;
}

/** How this thread checks RSA signatures synchronously: the native verifier (`detail`: its
 * OpenSSL) or node:crypto (`detail`: why not the native one). */
export interface RsaVerifierInfo {
  readonly native: boolean;
  /** the OpenSSL it runs on, or why it is not in use */
  readonly detail: string;
  /** RS* public operations with AVX-512 IFMA (native/rsa-verify/rsa_ifma.c) */
  readonly ifma: boolean;
}

export interface PolicyEngine {
  readonly generation: number;
  readonly rsaVerifier: RsaVerifierInfo;
  /** unusable JWKS keys that were left out (one line each), for the config log */
  readonly warnings: readonly string[];
  /** Any task, as an actor answers a frame. */
  run(task: VerifyTask): VerifyResult;
  run(task: DecideTask): DecideResult;
  run(task: FilterTask): FilterResult;
  run(task: WorkerTask): WorkerResult;
  /** `now` in seconds since the epoch */
  verify(providerSet: number, token: string, now: number): VerifyResult;
  /** `verify` with the signature math on the libuv pool (for the main thread) */
  verifyAsync(task: VerifyTask): Promise<VerifyResult>;
  decide(ruleSet: number, ctx: CelContext): DecideResult;
  filter(ruleSet: number, req: FilterRequest): FilterResult;
  /** The remembered answer to a filter task, or null (always null with the list cache off). */
  cachedFilter(ruleSet: number, req: FilterRequest): FilterResult | null;
  /** cachedFilter for a message still in bytes (`req` without its text): what sending the bytes
   * of the text path's answer needs, or null (then decode the bytes and filter the text). */
  rememberedAnswer(ruleSet: number, req: Omit<FilterRequest, 'body'>, bytes: Uint8Array): RememberedAnswer | null;
  /** Remembers another engine's answer to a filter task (a pool actor's, on the main thread). */
  rememberFilter(ruleSet: number, req: FilterRequest, result: FilterResult): void;
  /** characters the list cache holds now */
  listCacheChars(): number;
}

/** Imports every key and compiles every rule of `init` once. `listCounts`: where the engine's
 * list cache counts its lookups (the main thread passes its metrics'). */
export type PolicyEngineFactory = (init: WorkerInit, listCounts?: CacheCounts) => PolicyEngine;

/** The name the actor module exports its PolicyEngineFactory under. */
export const policyEngineFactoryName = 'createPolicyEngine';
