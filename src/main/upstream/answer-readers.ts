// Answer handlers for those who read an answer themselves instead of relaying it: the fan-out
// reads each target's answer whole, the merged GET stream reads each target's stream as a
// Node stream. Both are cancelled by an AbortSignal, and end with the request whichever way.

import { Readable } from 'node:stream';
import { BufferBudgetError, type ByteAccount } from '../http/byte-budget.js';
import type { HeaderList } from '../http/reply.js';
import type { AnswerHandler } from './answer.js';
import { rawFields } from './headers.js';
import { GatewayError } from '../../protocol/errors.js';

export interface WholeAnswer {
  readonly status: number;
  readonly fields: HeaderList;
  readonly text: string;
}

/** An answer (from its head on, when it failed after one) with the failure. */
export class AnswerFailedError extends GatewayError {
  /** the head, when it came before the failure */
  readonly fields: HeaderList | null;
  constructor(cause: Error, fields: HeaderList | null) {
    super('GW_ANSWER_FAILED', cause.message, { cause });
    this.fields = fields;
  }
}

function onAbort(signal: AbortSignal, abort: (err: Error) => void): void {
  const reason = (): Error => (signal.reason instanceof Error ? signal.reason : new Error('client went away'));
  if (signal.aborted) abort(reason());
  else signal.addEventListener('abort', () => abort(reason()), { once: true });
}

/** Reads the whole answer, its bytes counted against `held` (given back by the request's end)
 * and bounded by `maxBytes`. Rejects with an AnswerFailedError. */
export function wholeAnswer(held: ByteAccount, maxBytes: number, signal: AbortSignal): { readonly handler: AnswerHandler; readonly answer: Promise<WholeAnswer> } {
  let resolve: (a: WholeAnswer) => void = () => {};
  let reject: (err: Error) => void = () => {};
  const answer = new Promise<WholeAnswer>((ok, fail) => {
    resolve = ok;
    reject = fail;
  });
  let status = 0;
  let fields: HeaderList | null = null;
  const chunks: Buffer[] = [];
  let size = 0;
  let abortRequest: (err: Error) => void = () => {};
  let over = false;
  const stop = (err: Error): void => {
    if (over) return;
    over = true;
    reject(new AnswerFailedError(err, fields));
    abortRequest(err);
  };
  const handler: AnswerHandler = {
    onConnect: (abort) => {
      abortRequest = abort;
      onAbort(signal, stop);
    },
    onHeaders: (code, raw) => {
      if (code < 200) return true;
      status = code;
      fields = rawFields(raw);
      return true;
    },
    onData: (chunk) => {
      if (over) return true;
      size += chunk.byteLength;
      if (size > maxBytes) stop(new Error(`answer larger than ${maxBytes} bytes`));
      else if (!held.take(chunk.byteLength)) stop(new BufferBudgetError(held.limit));
      else chunks.push(Buffer.from(chunk));
      return true;
    },
    onComplete: () => {
      if (over) return;
      over = true;
      resolve({ status, fields: fields ?? [], text: Buffer.concat(chunks, size).toString('utf8') });
    },
    onError: (err) => {
      if (over) return;
      over = true;
      reject(new AnswerFailedError(err, fields));
    },
  };
  return { handler, answer };
}

export interface StreamedAnswer {
  readonly status: number;
  readonly fields: HeaderList;
  /** the body as it comes; reading it is what lets more come (back-pressure to the upstream) */
  readonly body: Readable;
}

/** The answer's head once it is in, and its body as a Node stream. */
export function streamedAnswer(signal: AbortSignal): { readonly handler: AnswerHandler; readonly answer: Promise<StreamedAnswer> } {
  let resolve: (a: StreamedAnswer) => void = () => {};
  let reject: (err: Error) => void = () => {};
  const answer = new Promise<StreamedAnswer>((ok, fail) => {
    resolve = ok;
    reject = fail;
  });
  let resumeUpstream: () => void = () => {};
  let paused = false;
  let headed = false;
  let abortRequest: (err: Error) => void = () => {};
  const body = new Readable({
    read: () => {
      if (!paused) return;
      paused = false;
      resumeUpstream();
    },
    destroy: (err, done) => {
      // the reader let go (or the stream failed): the upstream request goes too
      abortRequest(err ?? new Error('stream closed'));
      done(err);
    },
  });
  // A stream nobody reads any more may still fail: that must not be an unhandled 'error'.
  body.on('error', () => {});
  const handler: AnswerHandler = {
    onConnect: (abort) => {
      abortRequest = abort;
      onAbort(signal, (err) => {
        if (!headed) reject(err);
        abort(err);
      });
    },
    onHeaders: (code, raw, resume) => {
      if (code < 200) return true;
      headed = true;
      resumeUpstream = resume;
      resolve({ status: code, fields: rawFields(raw), body });
      return true;
    },
    onData: (chunk) => {
      paused = !body.push(Buffer.from(chunk));
      return !paused;
    },
    onComplete: () => {
      body.push(null);
    },
    onError: (err) => {
      if (!headed) reject(err);
      body.destroy(err);
    },
  };
  return { handler, answer };
}
