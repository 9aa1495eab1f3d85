// Back-pressure on one streamed response that several writers share (a merged GET stream: each
// HTTP target's relay, each channel session's listener). The sink keeps one drain callback, so a
// second writer's would replace the first's, which would then wait forever: the gate registers
// one and wakes every waiter. It also counts what was written since the client stopped keeping
// up, which the server holds unsent.

import type { ResponseSink } from '../http/reply.js';

export class DrainGate {
  readonly #sink: ResponseSink;
  #waiters: Array<() => void> = [];
  #congested = false;
  #held = 0;

  constructor(sink: ResponseSink) {
    this.#sink = sink;
    sink.onClose(() => this.#wake());
  }

  /** Writes `chunk`; false while the client is not keeping up (wait for drained()). */
  write(chunk: string): boolean {
    if (!this.#sink.open) return true;
    const ok = this.#sink.write(chunk);
    if (!ok || this.#congested) this.#held += Buffer.byteLength(chunk);
    if (!ok && !this.#congested) {
      this.#congested = true;
      this.#sink.onDrain(() => this.#drained());
    }
    return !this.#congested;
  }

  /** Bytes written since the client stopped keeping up: held by the server, unsent. */
  get held(): number {
    return this.#held;
  }

  /** Resolves once the client caught up, or the response is over. */
  drained(): Promise<void> {
    if (!this.#congested || !this.#sink.open) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** The sink has sent all it held (Reply's drain waits for that, flushing uWS itself). */
  #drained(): void {
    this.#congested = false;
    this.#held = 0;
    this.#wake();
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }
}
