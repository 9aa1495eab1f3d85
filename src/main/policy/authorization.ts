// Authorization, in one place: the CEL context of a request, and the questions put to the
// generation's policy engine about it — may the request pass (HTTP `authorization`), may this
// MCP call be made (`mcpAuthorization`), which items of a list may the caller see. A rule that
// fails to evaluate counts as false and is counted here.

import type { FilterRequest, FilterTask } from '../../protocol/policy-engine.js';
import type { CelContext, Claims, DecideResult, FilterResult, McpCelContext } from '../../protocol/worker-contract.js';
import { joinedHeaders, type RequestSnapshot } from '../http/request.js';
import type { RuleSetRef } from '../plan.js';
import type { EngineRunner } from '../policy-engine/runner.js';
import { then, type Maybe } from '../maybe-async.js';

/** Who asks: the request as received and the claims jwtAuth verified (null: none). */
export interface Asker {
  readonly req: RequestSnapshot;
  readonly claims: Claims | null;
}

/** Which roots besides `jwt` and `mcp` the rules read: only those are put in the context. */
export type ContextRoots = Pick<RuleSetRef, 'usesRequest' | 'usesSource'>;

/** Every root: for expressions the plan does not scan (HTTP authorization, header transformations). */
export const allRoots: ContextRoots = { usesRequest: true, usesSource: true };

const noRoots: ContextRoots = { usesRequest: false, usesSource: false };

export function celContext(who: Asker, roots: ContextRoots, mcp: McpCelContext | null): CelContext {
  const req = who.req;
  return {
    jwt: who.claims,
    mcp,
    request: roots.usesRequest ? { method: req.method, path: req.path, host: req.host, headers: joinedHeaders(req.headers) } : null,
    // uWS v20.30 does not expose the peer port.
    source: roots.usesSource ? { address: req.remoteAddress, port: 0 } : null,
  };
}

/** A list result to filter for `target`; `prefix`: its items renamed `<target>_<name>`
 * (`<target>+<uri>`), as where a route has several targets. */
export type ListToFilter = Omit<FilterRequest, 'ctx'>;

/** One generation's authorization: its engine (current one: new keys replace it), and where
 * rule errors are counted. */
export class Authorization {
  readonly #engine: () => EngineRunner;
  readonly #allowAllRuleSet: number;
  readonly #onRuleErrors: (count: number) => void;

  constructor(engine: () => EngineRunner, allowAllRuleSet: number, onRuleErrors: (count: number) => void) {
    this.#engine = engine;
    this.#allowAllRuleSet = allowAllRuleSet;
    this.#onRuleErrors = onRuleErrors;
  }

  /** HTTP `authorization`: whether the request may go on. */
  allowRequest(ref: RuleSetRef, who: Asker): Maybe<boolean> {
    return this.#decide(ref.id, celContext(who, allRoots, null));
  }

  /** `mcpAuthorization` (null: none, every call allowed): whether the call may be made. */
  allowCall(ref: RuleSetRef | null, who: Asker, mcp: McpCelContext): Maybe<boolean> {
    if (ref === null) return true;
    return this.#decide(ref.id, celContext(who, ref, mcp));
  }

  /** The list with the items `mcpAuthorization` hides taken out (null: no rules, every item
   * kept) and renamed when prefixed; null when the text is unchanged. */
  filterList(ref: RuleSetRef | null, who: Asker, l: ListToFilter): Maybe<string | null> {
    return then(this.#engine().filter({ op: 'filter', ...this.#listOf(ref, who, l), body: l.body }), this.#filtered);
  }

  /** filterList's answer from what the engine remembers, for a list message still in bytes:
   * the bytes to send (null: the message as it came), or undefined when the list is not
   * remembered (then decode it and filterList the text). */
  rememberedList(ref: RuleSetRef | null, who: Asker, l: Omit<ListToFilter, 'body'>, bytes: Uint8Array): Uint8Array | null | undefined {
    const answer = this.#engine().remembered({ op: 'filter', ...this.#listOf(ref, who, l) }, bytes);
    if (answer === null) return undefined;
    if (answer.ruleErrors > 0) this.#onRuleErrors(answer.ruleErrors);
    return answer.body;
  }

  #listOf(ref: RuleSetRef | null, who: Asker, l: Omit<ListToFilter, 'body'>): Omit<FilterTask, 'op' | 'body'> {
    return {
      // No rules but prefixed names: the allow-all rule set still renames the items.
      ruleSet: ref?.id ?? this.#allowAllRuleSet,
      ctx: celContext(who, ref ?? noRoots, null),
      list: l.list,
      target: l.target,
      prefix: l.prefix,
    };
  }

  #decide(ruleSet: number, ctx: CelContext): Maybe<boolean> {
    return then(this.#engine().decide({ op: 'decide', ruleSet, ctx }), this.#allowed);
  }

  readonly #allowed = (decision: DecideResult): boolean => {
    if (decision.ruleErrors > 0) this.#onRuleErrors(decision.ruleErrors);
    return decision.allow;
  };

  readonly #filtered = (result: FilterResult): string | null => {
    if (result.ruleErrors > 0) this.#onRuleErrors(result.ruleErrors);
    return result.body;
  };
}
