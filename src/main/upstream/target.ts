// One MCP target of a route: its name, its transport, and the one place where what applies to
// every request it gets is applied — initialize, calls, list fan-out, GET streams, DELETE and
// the sessions the gateway ends itself: what one caller may hold of it, the header fields sent
// (the client's, minus hop-by-hop and the gateway's own; the session; the target's header edits
// and credential), timeouts and retries (target-call.ts), and the edits to the answer's header
// fields.

import type { ParsedMessage } from '../../protocol/jsonrpc.js';
import type { CelContext } from '../../protocol/worker-contract.js';
import { latin1OfUtf8 } from '../http/header-text.js';
import type { RequestTrace, UpstreamSpan } from '../telemetry/tracing.js';
import { applyCredential } from '../upstream-auth/apply-credential.js';
import type { CallerIdentity, Credential, CredentialInsert, CredentialRemove } from '../upstream-auth/credential.js';
import { Refusal } from '../refusals.js';
import type { AnswerHandler } from './answer.js';
import type { CallerSlots } from './caller-slots.js';
import { GuardedCall } from './idle-guard.js';
import { upstreamRequestHeaders } from './headers.js';
import { TargetCall } from './target-call.js';
import { NO_TARGET_POLICIES, type TargetPolicies } from './target-policies.js';
import type { QueryEdit, Transport, TransportRequest } from './transport.js';

/** Who asks, and what of their request goes upstream. */
export interface CallerContext {
  /** the client's request header fields that may be forwarded (a consumed token's field removed) */
  readonly headers: ReadonlyArray<readonly [string, string]>;
  /** the client's `Authorization` field, when the gateway did not consume it (no jwtAuth, or a
   * permissive route's unverified one) */
  readonly authorization: string | undefined;
  /** for credential sources: the verified token and claims, the request as sent */
  readonly identity: CallerIdentity;
  /** for transformations: what rules see (built only when one runs) */
  readonly celContext: () => CelContext;
  /** whom the per-caller limits count: the token's issuer and subject, or the client's address */
  readonly caller: string;
  /** when the whole request times out (`timeout.requestTimeout`; performance.now() ms), if ever */
  readonly deadline: number | null;
  /** who owns the sessions opened (sessionOwner; a hash, so computed only when a session opens) */
  readonly owner: () => string;
  /** the request's trace, null when it is not traced */
  readonly trace: RequestTrace | null;
}

export interface TargetRequest {
  readonly method: 'POST' | 'GET' | 'DELETE';
  readonly sessionId: string | undefined;
  readonly body: Buffer | null;
  readonly message: ParsedMessage | null;
  /** GET: the Last-Event-ID to resume after; null sends none; absent forwards the client's */
  readonly lastEventId?: string | null;
}

export class UpstreamTarget {
  readonly name: string;
  readonly transport: Transport;
  readonly #slots: CallerSlots;
  readonly #policies: TargetPolicies;

  constructor(name: string, transport: Transport, slots: CallerSlots, policies: TargetPolicies = NO_TARGET_POLICIES) {
    this.name = name;
    this.transport = transport;
    this.#slots = slots;
    this.#policies = policies;
  }

  /** Sends the request; its answer, or why there is none, goes to `answer`. Never throws. */
  send(ctx: CallerContext, req: TargetRequest, answer: AnswerHandler): void {
    const lease = this.#slots.acquire(this.transport.key, req.method === 'GET' ? 'streams' : 'calls', ctx.caller);
    if (lease instanceof Refusal) {
      answer.onConnect(() => {});
      answer.onError(lease);
      return;
    }
    const span = ctx.trace === null ? null : ctx.trace.upstream(this.name, req.method, req.message);
    new TargetCall({
      answer,
      release: lease,
      policies: this.#policies,
      ctx,
      req,
      transport: this.transport,
      span,
      request: (credential, attempt) => this.#request(ctx, req, credential, attempt, span),
    }).start();
  }

  /** Ends an upstream session the client will not use (or no longer can): best effort, not
   * counted against the caller, whose own requests it must not be refused for. Resolves once
   * the upstream has answered, or failed to. */
  endSession(ctx: CallerContext, sessionId: string): Promise<void> {
    // Never rejects: callers fire it and forget it, and a rejection no one handles would end
    // the process. A credential that fails, or a header edit that throws, ends it unsent.
    return new Promise((resolve) => {
      const req: TargetRequest = { method: 'DELETE', sessionId, body: null, message: null };
      const go = (c: Credential | null): void => {
        try {
          if (c !== null && !c.ok) resolve();
          else this.transport.send(this.#request(ctx, req, c, 1, null), new Discarding(resolve));
        } catch {
          resolve();
        }
      };
      try {
        const source = this.#policies.credential;
        const credential = source === null ? null : source.credential(ctx.identity, () => new AbortController().signal);
        if (credential instanceof Promise) credential.then(go, () => resolve());
        else go(credential);
      } catch {
        resolve();
      }
    });
  }

  /** The request as the transport sends it: the client's forwardable fields, the target's header
   * edits, then its credential (which wins where both write), and the call's trace context. */
  #request(ctx: CallerContext, req: TargetRequest, credential: Credential | null, attempt: number, span: UpstreamSpan | null): TransportRequest {
    const p = this.#policies;
    const headers = upstreamRequestHeaders(ctx.headers, {
      sessionId: req.sessionId,
      authorization: p.forwardsClientAuthorization ? ctx.authorization : undefined,
    });
    if (req.lastEventId === null) delete headers['last-event-id'];
    else if (req.lastEventId !== undefined) headers['last-event-id'] = req.lastEventId;
    p.request?.applyToRequest(headers, ctx.celContext);
    const query = credential !== null && credential.ok ? applyToHeaders(headers, credential.removes, credential.inserts) : [];
    if (attempt > 1) headers['x-retry-attempt'] = String(attempt - 1);
    span?.inject(headers);
    return { method: req.method, sessionId: req.sessionId, headers, query, body: req.body, message: req.message, owner: ctx.owner };
  }
}

/** Writes a credential's header and cookie parts into `headers`; returns its query parts. */
function applyToHeaders(headers: Record<string, string>, removes: readonly CredentialRemove[], inserts: readonly CredentialInsert[]): QueryEdit[] {
  const query: QueryEdit[] = [];
  const cookieRemoves = removes.filter((r) => r.kind === 'cookie');
  const cookieInserts = inserts.filter((i) => i.kind === 'cookie');
  for (const r of removes) {
    if (r.kind === 'header') delete headers[r.name];
    else if (r.kind === 'queryParameter') query.push({ name: r.name, value: null });
  }
  for (const i of inserts) {
    if (i.kind === 'header') headers[i.name] = latin1OfUtf8(i.value);
    else if (i.kind === 'queryParameter') query.push({ name: i.name, value: i.value });
  }
  if (cookieRemoves.length > 0 || cookieInserts.length > 0) {
    const current = headers['cookie'];
    const edited = applyCredential({ headers: current === undefined ? [] : [['cookie', current]], pathAndQuery: '' }, { removes: cookieRemoves, inserts: cookieInserts });
    const cookie = edited.headers.find(([k]) => k === 'cookie')?.[1];
    if (cookie === undefined) delete headers['cookie'];
    else headers['cookie'] = latin1OfUtf8(cookie);
  }
  return query;
}

/** Reads an answer nobody waits for to its end, so its connection can serve the next request. */
class Discarding extends GuardedCall implements AnswerHandler {
  readonly #ended: () => void;
  #abort: ((err: Error) => void) | null = null;
  constructor(ended: () => void) {
    super();
    this.#ended = ended;
  }

  get paused(): boolean {
    return false;
  }

  timedOut(err: Error): void {
    this.#abort?.(err);
  }

  onConnect(abort: (err: Error) => void): void {
    this.#abort = abort;
    this.guardStart();
  }

  onHeaders(status: number): boolean {
    this.guardHead(status, true);
    return true;
  }

  onData(): boolean {
    this.guardData(true);
    return true;
  }

  onComplete(): void {
    this.guardEnd();
    this.#ended();
  }

  onError(): void {
    this.guardEnd();
    this.#ended();
  }
}
