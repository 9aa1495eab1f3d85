// Piscina worker entry: one engine per worker (an actor owning its keys and compiled rules
// for one generation), msgpackr frames in and out. The main thread may also import this
// module for inline mode (`workers: 0`): it then uses `createEngine` or `createActor` and the
// default export stays unused. Must not import from src/main.
import { isWorkerThread, workerData } from 'piscina';
import { decodeFrame, encodeFrame } from '../protocol/frame-codec.js';
import { createEngine, type Engine } from './engine.js';
import { isWorkerInit, isWorkerTask } from './task-shape.js';

export { createEngine } from './engine.js';
export type { Engine, FilterRequest } from './engine.js';

function engineFromFrame(initFrame: Uint8Array): Engine {
  const init = decodeFrame(initFrame);
  if (!isWorkerInit(init)) throw new TypeError('actor: init frame is not a WorkerInit');
  return createEngine(init);
}

function answer(engine: Engine, frame: Uint8Array): Uint8Array {
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
const engine: Engine | null = workerInit === null ? null : engineFromFrame(workerInit);

export default function handleFrame(frame: Uint8Array): Uint8Array {
  if (engine === null) {
    throw new Error('actor: no engine; start the pool with workerData { init: encodeFrame(WorkerInit) }, or use createActor inline');
  }
  return answer(engine, frame);
}
