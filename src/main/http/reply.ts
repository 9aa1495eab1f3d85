// The only place that touches a uWS response after the handler's synchronous part. uWS frees
// the response on abort, so every write checks the state first and runs corked (one syscall
// for status, headers and body).

import { STATUS_CODES } from 'node:http';
import type { FrontResponse } from './front.js';

/** A header field: name, value, and the value's bytes where the string cannot carry them (a
 * relayed value that is not UTF-8: uWS would write the string as UTF-8, changing its bytes). */
export type HeaderField = readonly [name: string, value: string, bytes?: Uint8Array];
export type HeaderList = ReadonlyArray<HeaderField>;

const statusLines = new Map<number, string>();
function statusLine(status: number): string {
  let line = statusLines.get(status);
  if (line === undefined) {
    line = `${status} ${STATUS_CODES[status] ?? 'Unknown'}`;
    statusLines.set(status, line);
  }
  return line;
}

/** What the relay writes an answer to: a uWS response, or (legacy SSE clients) an event on
 * another request's stream. */
export interface ResponseSink {
  readonly open: boolean;
  readonly headSent: boolean;
  /** Runs cb once, when the response ends or the client goes away; returns a function that
   * takes it back (a listener on a long-lived stream must not outlive what registered it). */
  onClose(cb: (aborted: boolean) => void): () => void;
  send(status: number, headers: HeaderList, body?: string | Uint8Array): void;
  head(status: number, headers: HeaderList): void;
  headStream(status: number, headers: HeaderList): void;
  /** Status, headers and a first chunk of a streamed response in one write; false: back-pressure. */
  start(status: number, headers: HeaderList, chunk: string | Uint8Array): boolean;
  write(chunk: string | Uint8Array): boolean;
  onDrain(cb: () => void): void;
  finish(): void;
  destroy(): void;
}

const noop = (): void => {};

export class Reply implements ResponseSink {
  readonly #res: FrontResponse;
  #aborted = false;
  #ended = false;
  #started = false;
  #onClose: Array<(aborted: boolean) => void> = [];
  #drain: (() => void) | null = null;
  #drainArmed = false;
  /** status sent, for the access log (0 until the head is written) */
  status = 0;
  /** body writes handed to uWS (whether a stream has said anything yet; a count, not a byte
   * length: measuring a string's UTF-8 length flattens it, and a filtered list's text is long) */
  #writes = 0;
  /** the answer to a HEAD request carries no body (uWS would send one, and the client would
   * read it as the start of its next answer) */
  readonly #noBody: boolean;

  constructor(res: FrontResponse, headRequest = false) {
    this.#res = res;
    this.#noBody = headRequest;
    res.onAborted(() => {
      this.#aborted = true;
      this.#fireClose(true);
    });
  }

  /** True while the response can still be written. */
  get open(): boolean {
    return !this.#aborted && !this.#ended;
  }

  get aborted(): boolean {
    return this.#aborted;
  }

  get headSent(): boolean {
    return this.#started;
  }

  onClose(cb: (aborted: boolean) => void): () => void {
    if (!this.open) {
      cb(this.#aborted);
      return noop;
    }
    this.#onClose.push(cb);
    return () => {
      const i = this.#onClose.indexOf(cb);
      if (i >= 0) this.#onClose.splice(i, 1);
    };
  }

  /** Close listeners registered and not yet run or taken back. */
  get closeListeners(): number {
    return this.#onClose.length;
  }

  #fireClose(aborted: boolean): void {
    const cbs = this.#onClose;
    this.#onClose = [];
    for (const cb of cbs) cb(aborted);
  }

  #writeHead(status: number, headers: HeaderList): void {
    this.status = status;
    this.#started = true;
    this.#res.writeStatus(statusLine(status));
    for (const field of headers) this.#res.writeHeader(field[0], field[2] ?? field[1]);
  }

  /** A whole response at once. */
  send(status: number, headers: HeaderList, body: string | Uint8Array = ''): void {
    if (!this.open) return;
    this.#res.cork(() => {
      if (!this.#started) this.#writeHead(status, headers);
      if (this.#noBody) this.#res.endWithoutBody();
      else this.#res.end(body);
    });
    this.#ended = true;
    this.#fireClose(false);
  }

  /** Starts a streamed (chunked) response. */
  head(status: number, headers: HeaderList): void {
    if (!this.open || this.#started) return;
    this.#res.cork(() => this.#writeHead(status, headers));
  }

  /** Starts an event stream. uWS holds the header block back until the first body byte, so a
   * stream whose first event is slow would look hung: if nothing is written by the next turn of
   * the event loop, an SSE comment (ignored by clients) pushes the headers out. */
  headStream(status: number, headers: HeaderList): void {
    this.head(status, headers);
    const before = this.#writes;
    setImmediate(() => {
      if (this.open && this.#writes === before) this.write(':\n\n');
    });
  }

  start(status: number, headers: HeaderList, chunk: string | Uint8Array): boolean {
    if (!this.open || this.#started) return this.write(chunk);
    let ok = true;
    this.#res.cork(() => {
      this.#writeHead(status, headers);
      ok = this.#res.write(chunk);
    });
    if (chunk.length > 0) this.#writes++;
    if (!ok) this.#armDrain();
    return ok;
  }

  #armDrain(): void {
    if (this.#drainArmed) return;
    this.#drainArmed = true;
    this.#res.onWritable(() => {
      if (!this.open) return true;
      // uWS sends what it still holds only while the response is written to: a handler that
      // does nothing leaves the rest unsent until the next
      // write, which an idle upstream may never make. A corked empty write keeps it flushing
      // (the cork's uncork is what sends; the empty write adds no chunk and tells whether all
      // is out); the drain callback runs once it is.
      let flushed = true;
      this.#res.cork(() => {
        flushed = this.#res.write('');
      });
      if (!flushed) return false; // called again as the socket drains
      this.#drainArmed = false;
      const cb = this.#drain;
      this.#drain = null;
      cb?.();
      return true;
    });
  }

  /** Writes a chunk of a streamed response; false means back-pressure: wait for onDrain. */
  write(chunk: string | Uint8Array): boolean {
    if (!this.open) return true;
    let ok = true;
    this.#res.cork(() => {
      ok = this.#res.write(chunk);
    });
    if (chunk.length > 0) this.#writes++;
    if (!ok) this.#armDrain();
    return ok;
  }

  /** Called once when a write that returned false has drained. */
  onDrain(cb: () => void): void {
    this.#drain = cb;
  }

  /** Ends a streamed response. */
  finish(): void {
    if (!this.open) return;
    this.#res.cork(() => this.#res.end());
    this.#ended = true;
    this.#fireClose(false);
  }

  /** Drops the connection (used when an upstream stream breaks mid-body). */
  destroy(): void {
    if (!this.open) return;
    this.#ended = true;
    this.#res.close();
    this.#fireClose(true);
  }
}
