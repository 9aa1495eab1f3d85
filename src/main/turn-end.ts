// Work left to the end of the event loop's turn, after everything the turn read was handled: the
// turn's signature checks first, then the turn's upstream writes, so that requests going on after
// their check still leave in the turn's writes.
// Node runs the turn's immediates in the order they were queued, each one's promise reactions
// before the next; an immediate queued while immediates run waits for the next turn. A write
// queued by a request that goes on after a check therefore needs an immediate queued after the
// check's: `beforeWrites` queues one.

const writes: Array<() => void> = [];
/** immediates queued that will run `writes` */
let writeRuns = 0;

function runWrites(): void {
  writeRuns--;
  // Taken whole: a write that queues another (it should not) waits for the next run.
  const due = writes.splice(0);
  for (const write of due) write();
}

/** Runs `write` at the end of this turn (the next turn's when called while immediates run). */
export function atTurnEnd(write: () => void): void {
  writes.push(write);
  if (writeRuns > 0) return;
  writeRuns++;
  setImmediate(runWrites);
}

/** Runs `work` at the end of this turn, before writes queued by what it lets go on. */
export function beforeWrites(work: () => void): void {
  setImmediate(work);
  writeRuns++;
  setImmediate(runWrites);
}
