// Judges the items of one list with the rule set, evaluating a rule that does not read `mcp`
// (item-invariance.ts) once per list instead of once per item. Each item's decision and the
// error tally come out exactly as evaluateRules gives them item by item
// (test/unit/workers/list-judge.test.ts checks it against that on random rule sets): a
// remembered outcome is counted again wherever evaluation would have reached the rule. Where
// most rules read the token alone, most of a list's evaluations are saved.
import type { CelContext } from '../../protocol/worker-contract.js';
import type { CompiledRule, CompiledRuleSet } from './compile.js';
import { celVars, type CelVars } from '../../protocol/cel-values.js';
import { combine, counted, outcomeOf, type ErrorTally, type Outcome } from './decide.js';

export class ListJudge {
  readonly #rules: CompiledRuleSet;
  readonly #tally: ErrorTally;
  /** per rule index: the outcome of a rule that does not read mcp, once evaluated */
  readonly #memo: Array<Outcome | undefined>;

  /** For one list: every context passed to `allows` must differ only in `mcp`. */
  constructor(rules: CompiledRuleSet, tally: ErrorTally) {
    this.#rules = rules;
    this.#tally = tally;
    this.#memo = new Array<Outcome | undefined>(rules.size);
  }

  /** Whether the item judged in `ctx` is allowed; call inside `withoutStackTraces`. */
  allows(ctx: CelContext): boolean {
    const vars = celVars(ctx);
    return combine(this.#rules, (r) => counted(this.#outcome(r, vars), this.#tally));
  }

  #outcome(rule: CompiledRule, vars: CelVars): Outcome {
    if (rule.readsMcp) return outcomeOf(rule.program, vars);
    let known = this.#memo[rule.index];
    if (known === undefined) {
      known = outcomeOf(rule.program, vars);
      this.#memo[rule.index] = known;
    }
    return known;
  }
}
