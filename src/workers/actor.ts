// Piscina worker entry: one policy engine per worker (an actor owning its keys and compiled
// rules for one generation), msgpackr frames in and out. The main thread also loads this module
// for the engine it runs inline (every `verify` and `decide`, and every list with `workers: 0`):
// it then takes `createPolicyEngine` (its type is the protocol's) and the default export stays
// unused. Must not import from src/main.
import { isWorkerThread, workerData } from 'piscina';
import { decodeFrame, encodeFrame } from '../protocol/frame-codec.js';
import type { PolicyEngine } from '../protocol/policy-engine.js';
import { createPolicyEngine } from './engine.js';
import { isWorkerInit, isWorkerTask } from './task-shape.js';

/** Exported under the protocol's `policyEngineFactoryName`. */
export { createPolicyEngine } from './engine.js';

function engineFromFrame(initFrame: Uint8Array): PolicyEngine {
  const init = decodeFrame(initFrame);
  if (!isWorkerInit(init)) throw new TypeError('actor: init frame is not a WorkerInit');
  return createPolicyEngine(init);
}

function answer(engine: PolicyEngine, frame: Uint8Array): Uint8Array {
  const task = decodeFrame(frame);
  // Outcomes are data; a frame of the wrong shape is a bug on the sending side, so throw.
  if (!isWorkerTask(task)) throw new TypeError('actor: frame is not a WorkerTask');
  return encodeFrame(engine.run(task));
}

/** Frame-level actor without Piscina, for inline mode and parity tests. */
export function createActor(initFrame: Uint8Array): (frame: Uint8Array) => Uint8Array {
  const engine = engineFromFrame(initFrame);
  return (frame) => answer(engine, frame);
}

/** `workerData.init` when this thread is a Piscina worker started with one, else null. */
function initFrameOf(data: unknown): Uint8Array | null {
  const init = typeof data === 'object' && data !== null && 'init' in data ? data.init : undefined;
  return init instanceof Uint8Array ? init : null;
}

// Built once when Piscina loads the module, so a bad init fails the pool at start-up rather
// than every task. Never built on the main thread (inline mode imports this module too).
const workerInit = isWorkerThread ? initFrameOf(workerData) : null;
const engine: PolicyEngine | null = workerInit === null ? null : engineFromFrame(workerInit);

export default function handleFrame(frame: Uint8Array): Uint8Array {
  if (engine === null) {
    throw new Error('actor: no engine; start the pool with workerData { init: encodeFrame(WorkerInit) }, or use createActor inline');
  }
  return answer(engine, frame);
}
