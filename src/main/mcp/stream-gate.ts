// Keeps a session's GET event stream ahead of the POSTs the client sent after it. A client opens
// its GET stream and, without waiting for it, sends its next request (the SDK client starts the
// GET right after notifications/initialized and the first tools/call follows at once). A server
// that sends requests not tied to a POST (sampling, elicitation, roots on the GET stream) drops
// them while that stream is not open yet. Directly, the GET reaches the server first; through
// the gateway it goes out on the stream pool, usually on a new connection, while the POST reuses
// a warm one, so the POST can overtake it, and the call then hangs until the client's timeout.
// A POST of a session whose GET is still being opened upstream waits until the upstream has
// answered that GET (its head is in), for at most `streamOpenWaitMs`. One gate per gateway.

/** The longest a POST waits for its session's GET to be opened upstream. */
export const streamOpenWaitMs = 250;

export class StreamGate {
  readonly #opening = new Map<string, Promise<void>>();

  /** Marks the session's GET stream as being opened; call the result (idempotent) once it is
   * open, refused or abandoned. */
  opening(sessionHeader: string | undefined): () => void {
    if (sessionHeader === undefined) return () => {};
    let release: () => void = () => {};
    const p = new Promise<void>((resolve) => (release = resolve));
    this.#opening.set(sessionHeader, p);
    return () => {
      if (this.#opening.get(sessionHeader) === p) this.#opening.delete(sessionHeader);
      release();
    };
  }

  /** null when nothing is being opened for the session (the usual case: no wait, no promise);
   * otherwise a promise that settles once the GET is open upstream or after `streamOpenWaitMs`. */
  opened(sessionHeader: string | undefined): Promise<void> | null {
    if (sessionHeader === undefined) return null;
    const p = this.#opening.get(sessionHeader);
    if (p === undefined) return null;
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, streamOpenWaitMs);
      void p.then(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
