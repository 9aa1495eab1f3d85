// How an upstream's answer reaches whoever asked: undici's own dispatch handler shape (connect,
// head, body chunks, end, error). HTTP targets hand it to undici as it is, with nothing between
// (the relay's hot path); channel targets (stdio, legacy SSE) drive the same calls themselves, so
// the relay and the fan-out read every transport's answers one way.

/** Raw header list as undici gives it: name, value, name, value… */
export type RawHeaders = ReadonlyArray<Buffer | string>;

export interface AnswerHandler {
  /** The request is under way; `abort` cancels it (the handler then gets onError). */
  onConnect(abort: (err: Error) => void): void;
  /** Status and header fields; false pauses the body until `resume` is called. 1xx heads may come first. */
  onHeaders(status: number, headers: RawHeaders, resume: () => void): boolean;
  /** One body chunk; false pauses the body until `resume` is called. */
  onData(chunk: Buffer): boolean;
  onComplete(): void;
  /** The request failed or was aborted; nothing else follows. */
  onError(err: Error): void;
  /** Whether a body this reader paused is still held back (it has not called `resume` since):
   * an idle limit never cuts a paused body. Readers that never pause leave it out. */
  readonly paused?: boolean;
}

/** A whole answer made here (a refusal, a channel's JSON answer) given to a handler. */
export function answerWith(handler: AnswerHandler, status: number, headers: RawHeaders, body: string | Buffer): void {
  let aborted: Error | null = null;
  handler.onConnect((err) => {
    aborted ??= err;
  });
  if (aborted !== null) {
    handler.onError(aborted);
    return;
  }
  const resume = (): void => {};
  handler.onHeaders(status, headers, resume);
  if (aborted !== null) {
    handler.onError(aborted);
    return;
  }
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  if (bytes.byteLength > 0) handler.onData(bytes);
  if (aborted !== null) handler.onError(aborted);
  else handler.onComplete();
}
