// mcpAuthorization rules compiled once per generation with @marcbachmann/cel-js
// (10× faster than `cel-js`, CEL's commutative &&/|| error absorption, and error messages
// that do not echo the context: reference/component-costs.md §2).
import { parse, type ParseResult } from '@marcbachmann/cel-js';
import type { RuleSetInit } from '../../protocol/worker-contract.js';

export type CelProgram = ParseResult;

export interface CompiledRuleSet {
  readonly id: number;
  readonly allow: readonly CelProgram[];
  readonly deny: readonly CelProgram[];
  readonly require: readonly CelProgram[];
}

/** Throws the library's ParseError on a syntax error; the config loader can call it to validate. */
export function compileRule(expr: string): CelProgram {
  return parse(expr);
}

/**
 * Compiles every rule. A rule that does not parse throws: the config loader must have
 * refused it already, and silently dropping it would turn a bad deny rule into "allow".
 */
export function compileRuleSet(init: RuleSetInit): CompiledRuleSet {
  const allow: CelProgram[] = [];
  const deny: CelProgram[] = [];
  const require: CelProgram[] = [];
  for (const [index, rule] of init.rules.entries()) {
    let program: CelProgram;
    try {
      program = compileRule(rule.expr);
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      throw new Error(`rule set ${init.id}, rule ${index}: CEL does not compile: ${why}`, { cause: err });
    }
    if (rule.kind === 'allow') allow.push(program);
    else if (rule.kind === 'deny') deny.push(program);
    else if (rule.kind === 'require') require.push(program);
    else throw new Error(`rule set ${init.id}, rule ${index}: unknown kind ${JSON.stringify(rule.kind)}`);
  }
  return { id: init.id, allow, deny, require };
}

export function hasNoRules(set: CompiledRuleSet): boolean {
  return set.allow.length === 0 && set.deny.length === 0 && set.require.length === 0;
}
