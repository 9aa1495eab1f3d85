// The guard undici's headersTimeout and bodyTimeout gave the calls pool, without a timer per
// request: undici arms one per request and keeps it in its timer list until its next 500 ms
// tick, long enough to outlive young collections and fill the old generation. Here the calls
// on a connection are linked through their own handlers (nothing allocated per call), mark
// themselves when they move (the request on its connection, a head, a body chunk), and one
// unref'd interval per pool, running while calls are in flight, ends those idle past the limit
// with undici's own errors, so the client's answer is what undici's timeout gave.
// As undici's: the head limit runs from the request's start on its connection (a 1xx head
// restarts it), the body limit is idle time (every chunk restarts it), and a body the reader
// holds back (paused) is never cut; its idle time starts again once the reader resumes.

import { errors } from 'undici';

/** Milliseconds an upstream may leave a call without its head, or its body without a chunk;
 * 0 turns that limit off. */
export interface IdleLimits {
  readonly headMs: number;
  readonly bodyMs: number;
}

/** undici's defaults (headersTimeout, bodyTimeout), which the calls pool had. */
export const defaultIdleLimits: IdleLimits = { headMs: 300_000, bodyMs: 300_000 };

/** A call the guard can watch: the links and marks live on the call's own handler. */
export abstract class GuardedCall {
  /** the guard to join once the request is on a connection (set by the transport; null: none) */
  guard: IdleGuard | null = null;
  guardPrev: GuardedCall | null = null;
  guardNext: GuardedCall | null = null;
  guardLinked = false;
  /** it moved since the guard last looked */
  moved = false;
  /** its final head is in: the body limit applies */
  headed = false;
  /** when the guard last saw it move (performance.now()) */
  seen = 0;
  /** the reader paused the body (its last onHeaders or onData returned false) */
  protected held = false;

  /** Whether the reader still holds the body back. */
  abstract readonly paused: boolean;
  /** Ends the call's request with `err`, as undici's own timeout would have. */
  abstract timedOut(err: Error): void;

  /** The request is on its connection (undici's onConnect). */
  protected guardStart(): void {
    this.held = false;
    this.guard?.add(this);
  }

  protected guardHead(status: number, go: boolean): void {
    this.moved = true;
    if (status >= 200) this.headed = true;
    this.held = !go;
  }

  protected guardData(go: boolean): void {
    this.moved = true;
    this.held = !go;
  }

  /** The request is over (undici's onComplete or onError). */
  protected guardEnd(): void {
    this.guard?.remove(this);
  }
}

export class IdleGuard {
  readonly #limits: IdleLimits;
  readonly #everyMs: number;
  #first: GuardedCall | null = null;
  #timer: NodeJS.Timeout | null = null;

  constructor(limits: IdleLimits) {
    this.#limits = limits;
    const on = [limits.headMs, limits.bodyMs].filter((ms) => ms > 0);
    // A call is cut between its limit and its limit plus two sweeps (undici: up to ~1 s late).
    this.#everyMs = on.length === 0 ? 0 : Math.max(10, Math.min(500, Math.floor(Math.min(...on) / 4)));
  }

  add(call: GuardedCall): void {
    if (this.#everyMs === 0 || call.guardLinked) return;
    call.guardLinked = true;
    call.moved = true;
    call.headed = false;
    call.guardPrev = null;
    call.guardNext = this.#first;
    if (this.#first !== null) this.#first.guardPrev = call;
    this.#first = call;
    if (this.#timer === null) {
      this.#timer = setInterval(this.#sweep, this.#everyMs);
      this.#timer.unref();
    }
  }

  remove(call: GuardedCall): void {
    if (!call.guardLinked) return;
    call.guardLinked = false;
    const { guardPrev: prev, guardNext: next } = call;
    if (prev === null) this.#first = next;
    else prev.guardNext = next;
    if (next !== null) next.guardPrev = prev;
    call.guardPrev = null;
    call.guardNext = null;
  }

  /** Stops the sweeps (the pool is closing). */
  close(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }

  // A mark is read at the sweep after it: idle time counts from that sweep, never from before
  // the call last moved. The interval stops at the first sweep with nothing in flight (not at
  // each call's end: at low rates calls come and go between sweeps).
  readonly #sweep = (): void => {
    if (this.#first === null) {
      this.close();
      return;
    }
    const now = performance.now();
    let call: GuardedCall | null = this.#first;
    while (call !== null) {
      const next: GuardedCall | null = call.guardNext;
      if (call.paused) call.moved = true;
      else if (call.moved) {
        call.moved = false;
        call.seen = now;
      } else {
        const limit = call.headed ? this.#limits.bodyMs : this.#limits.headMs;
        if (limit > 0 && now - call.seen >= limit) {
          this.remove(call);
          call.timedOut(call.headed ? new errors.BodyTimeoutError() : new errors.HeadersTimeoutError());
        }
      }
      call = next;
    }
  };
}
