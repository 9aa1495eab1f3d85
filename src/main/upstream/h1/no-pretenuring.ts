// V8 moves an allocation site's objects straight to the old generation ("pretenuring") once most
// of them have outlived a young collection. Calls held while pipelined connections open, or
// queued behind a slow answer, can make that so for the sites on the call path, and the decision
// stays: from then on every call's objects land in the old generation, each young collection
// copies what they point to, and full collections come often, on the event loop's core. A
// process that calls upstreams through this client, pipelined or not, turns the heuristic off.

import { setFlagsFromString } from 'node:v8';

let off = false;

/** This process turned the heuristic off. */
export function pretenuringOff(): boolean {
  return off;
}

export function turnOffPretenuring(): void {
  if (off) return;
  off = true;
  setFlagsFromString('--no-allocation-site-pretenuring');
}
