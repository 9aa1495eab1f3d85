// How far V8 lets the old generation grow past what a full collection left alive. V8 sizes that
// room from how fast the old generation filled before the collection: a gateway under steady load
// promotes little, so after its first full collection under load the room it gets is about the
// young generation's size plus a few MB, and V8 starts the next incremental marking as soon as
// the room left is no more than the young generation (the answers' Buffers, counted as external
// memory, take the rest). From then on a marking cycle and a full collection run back to back,
// each stalling the event loop for milliseconds. A fixed factor of 4 (V8's own largest) leaves
// the old generation room for tens of seconds of load between collections; max-old-space-size
// still bounds it.

import { setFlagsFromString } from 'node:v8';

const FLAG = '--heap-growing-percent';
export const HEAP_GROWING_PERCENT = 300;

/** The V8 flag to set, or null when the operator set the factor (node's command line or
 * NODE_OPTIONS), which then stands. */
export function heapGrowthFlag(execArgv: readonly string[], nodeOptions: string | undefined): string | null {
  const named = (arg: string): boolean => arg === FLAG || arg.startsWith(`${FLAG}=`) || arg === '--heap_growing_percent' || arg.startsWith('--heap_growing_percent=');
  if (execArgv.some(named) || (nodeOptions ?? '').split(/\s+/).some(named)) return null;
  return `${FLAG}=${HEAP_GROWING_PERCENT}`;
}

/** Sets the gateway process's heap growing factor, unless the operator chose one. */
export function setHeapGrowth(): void {
  const flag = heapGrowthFlag(process.execArgv, process.env['NODE_OPTIONS']);
  if (flag !== null) setFlagsFromString(flag);
}
