// One request to a target, between the target and whoever reads its answer: the credential
// (fetched once, awaited only when it must be), the attempts (a retry resends what is safe to
// resend), the timeouts (the whole request's deadline and each attempt's, both until the answer's
// head: a stream already flowing is never cut), the edits to the answer's header fields, and the
// caller's slot, given back once the request is over whichever way it ends. The reader's abort
// reaches whatever runs at the time: the credential fetch, the backoff, or the transport.

import { isIdempotent } from '../../protocol/mcp.js';
import type { UpstreamSpan } from '../telemetry/tracing.js';
import { backendAuthFailed, type Credential } from '../upstream-auth/credential.js';
import { Refusal } from '../refusals.js';
import type { AnswerHandler, RawHeaders } from './answer.js';
import { GuardedCall } from './idle-guard.js';
import type { CallerContext, TargetRequest } from './target.js';
import type { TargetPolicies } from './target-policies.js';
import type { Transport, TransportRequest } from './transport.js';

/** Bodies larger than this are not kept for a retry (agentgateway's limit). */
export const maxRetryBodyBytes = 64 * 1024;

/** Errors that say the upstream never received the request: resending it cannot run it twice. */
const SOURCE_FAILED = backendAuthFailed('source_error', 'the credential source failed');

const connectFailures: ReadonlySet<string> = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);

function isConnectFailure(err: Error): boolean {
  const code: unknown = 'code' in err ? err.code : undefined;
  return typeof code === 'string' && connectFailures.has(code);
}

export function requestTimeout(): Refusal {
  return new Refusal('GW_REQUEST_TIMEOUT', 'request timeout');
}

function attemptTimeout(): Refusal {
  return new Refusal('GW_UPSTREAM_TIMEOUT', 'upstream call timeout');
}

export interface TargetCallParts {
  readonly answer: AnswerHandler;
  readonly release: () => void;
  readonly policies: TargetPolicies;
  readonly ctx: CallerContext;
  readonly req: TargetRequest;
  readonly transport: Transport;
  /** the call's client span (null when the request is not traced): ended at the answer's head */
  readonly span: UpstreamSpan | null;
  /** the request of attempt `n` (1 first), with the credential applied */
  readonly request: (credential: Credential | null, attempt: number) => TransportRequest;
}

export class TargetCall extends GuardedCall implements AnswerHandler {
  readonly #p: TargetCallParts;
  #credential: Credential | null = null;
  #attempt = 0;
  /** the request is over for the reader: an abort, a timeout, or its end */
  #over = false;
  /** why the reader's side ended it (its abort, the deadline) */
  #stopped: Error | null = null;
  /** the current attempt's answer is being read to its end, to be retried */
  #discarding = false;
  #headed = false;
  #abortUpstream: ((err: Error) => void) | null = null;
  /** an abort of the current attempt that came before the transport could take it */
  #pendingAbort: Error | null = null;
  #controller: AbortController | null = null;
  #deadlineTimer: NodeJS.Timeout | null = null;
  #attemptTimer: NodeJS.Timeout | null = null;
  #backoffTimer: NodeJS.Timeout | null = null;

  constructor(parts: TargetCallParts) {
    super();
    this.#p = parts;
  }

  get paused(): boolean {
    return this.held && !this.#discarding && this.#p.answer.paused !== false;
  }

  timedOut(err: Error): void {
    this.#abortUpstream?.(err);
  }

  start(): void {
    this.#p.answer.onConnect((err) => this.#stop(err));
    if (this.#over) return;
    const deadline = this.#p.ctx.deadline;
    if (deadline !== null) {
      const left = deadline - performance.now();
      if (left <= 0) {
        this.#stop(requestTimeout());
        return;
      }
      this.#deadlineTimer = setTimeout(() => this.#stop(requestTimeout()), left);
    }
    const source = this.#p.policies.credential;
    if (source === null) {
      this.#send();
      return;
    }
    // A token endpoint's call made for this one is traced under its span.
    const span = this.#p.span;
    const identity = span === null ? this.#p.ctx.identity : { ...this.#p.ctx.identity, callouts: span };
    const credential = source.credential(identity, () => this.#waitSignal());
    // A source that rejects (none should) fails the call closed rather than leave it hanging.
    if (credential instanceof Promise) credential.then((c) => this.#withCredential(c), () => this.#withCredential(SOURCE_FAILED));
    else this.#withCredential(credential);
  }

  /** The signal a credential fetch waits on, made only when there is a wait. */
  #waitSignal(): AbortSignal {
    this.#controller ??= new AbortController();
    if (this.#stopped !== null && !this.#controller.signal.aborted) this.#controller.abort(this.#stopped);
    return this.#controller.signal;
  }

  #withCredential(credential: Credential): void {
    if (this.#over) return;
    if (!credential.ok) {
      // Never a fallback: the request goes nowhere, the client gets the refusal.
      this.#p.policies.onRefusal(credential);
      this.#fail(new Refusal('GW_BACKEND_AUTH', credential.message, { status: credential.status }));
      return;
    }
    this.#p.policies.onCredential(credential.outcome);
    this.#credential = credential;
    this.#send();
  }

  #send(): void {
    this.#attempt++;
    this.#discarding = false;
    this.#abortUpstream = null;
    this.#pendingAbort = null;
    const perAttempt = this.#p.policies.attemptTimeoutMs;
    if (perAttempt !== null) this.#attemptTimer = setTimeout(() => this.#abortAttempt(attemptTimeout()), perAttempt);
    this.#p.transport.send(this.#p.request(this.#credential, this.#attempt), this);
  }

  onConnect(abort: (err: Error) => void): void {
    this.#abortUpstream = abort;
    this.guardStart();
    const pending = this.#stopped ?? this.#pendingAbort;
    if (pending !== null) abort(pending);
  }

  #abortAttempt(err: Error): void {
    if (this.#abortUpstream !== null) this.#abortUpstream(err);
    else this.#pendingAbort = err;
  }

  onHeaders(status: number, headers: RawHeaders, resume: () => void): boolean {
    const go = this.#head(status, headers, resume);
    this.guardHead(status, go);
    return go;
  }

  #head(status: number, headers: RawHeaders, resume: () => void): boolean {
    if (status < 200) return this.#discarding || this.#over ? true : this.#p.answer.onHeaders(status, headers, resume);
    this.#clearAttemptTimer();
    if (this.#retriesStatus(status)) {
      this.#discarding = true;
      return true;
    }
    this.#headed = true;
    // The head is in: the deadline no longer applies (a stream may run for hours).
    this.#clearDeadline();
    this.#p.span?.end(status);
    const edits = this.#p.policies.response;
    return this.#p.answer.onHeaders(status, edits === null ? headers : edits.applyToAnswer(headers, this.#p.ctx.celContext), resume);
  }

  onData(chunk: Buffer): boolean {
    const go = this.#discarding ? true : this.#p.answer.onData(chunk);
    this.guardData(go);
    return go;
  }

  onComplete(): void {
    this.guardEnd();
    if (this.#discarding) {
      this.#retryLater();
      return;
    }
    this.#end();
    this.#p.answer.onComplete();
  }

  onError(err: Error): void {
    this.guardEnd();
    this.#clearAttemptTimer();
    if (this.#over) return;
    if (this.#discarding || (!this.#headed && this.#retriesError(err))) {
      this.#retryLater();
      return;
    }
    this.#fail(err);
  }

  /** Whether an answer with this status is read away and the request sent again. */
  #retriesStatus(status: number): boolean {
    const retry = this.#p.policies.retry;
    return retry !== null && retry.codes.includes(status) && this.#mayResend(true);
  }

  /** Whether a failed attempt is tried again: when the upstream never got it, or got a request
   * that is safe to resend and did not answer in time. */
  #retriesError(err: Error): boolean {
    if (this.#p.policies.retry === null) return false;
    if (isConnectFailure(err)) return this.#mayResend(false);
    return err instanceof Refusal && err.code === 'GW_UPSTREAM_TIMEOUT' && this.#mayResend(true);
  }

  #mayResend(received: boolean): boolean {
    const retry = this.#p.policies.retry;
    const { req } = this.#p;
    if (retry === null || this.#attempt >= retry.attempts || this.#stopped !== null) return false;
    if (req.body !== null && req.body.byteLength > maxRetryBodyBytes) return false;
    if (!received) return true;
    const m = req.message;
    return m === null ? req.method !== 'POST' : m.kind === 'request' && isIdempotent(m.method);
  }

  #retryLater(): void {
    const backoff = this.#p.policies.retry?.backoffMs ?? 0;
    this.#backoffTimer = setTimeout(() => {
      this.#backoffTimer = null;
      if (!this.#over) this.#send();
    }, backoff);
  }

  /** The reader left, or the deadline passed: whatever runs now is stopped. */
  #stop(err: Error): void {
    if (this.#over) return;
    this.#stopped = err;
    if (this.#abortUpstream !== null && !this.#discarding) {
      this.#abortUpstream(err); // the transport reports it through onError
      return;
    }
    this.#abortUpstream?.(err);
    this.#fail(err);
  }

  #fail(err: Error): void {
    if (this.#over) return;
    this.#p.span?.fail(err.message);
    this.#end();
    this.#p.answer.onError(err);
  }

  #end(): void {
    this.#over = true;
    this.#clearAttemptTimer();
    this.#clearDeadline();
    if (this.#backoffTimer !== null) clearTimeout(this.#backoffTimer);
    if (this.#stopped !== null) this.#controller?.abort(this.#stopped);
    this.#p.release();
  }

  #clearAttemptTimer(): void {
    if (this.#attemptTimer !== null) clearTimeout(this.#attemptTimer);
    this.#attemptTimer = null;
  }

  #clearDeadline(): void {
    if (this.#deadlineTimer !== null) clearTimeout(this.#deadlineTimer);
    this.#deadlineTimer = null;
  }
}
