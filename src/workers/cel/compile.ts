// mcpAuthorization rules compiled once per generation with @marcbachmann/cel-js (faster than
// `cel-js`, with CEL's commutative &&/|| error absorption, and error messages that do not echo
// the context).
import type { ParseResult } from '@marcbachmann/cel-js';
import { compileCel } from '../../protocol/cel-environment.js';
import type { RuleSetInit } from '../../protocol/worker-contract.js';
import { readsVariable } from './item-invariance.js';
import { errorText } from '../../protocol/errors.js';

export type CelProgram = ParseResult;

export interface CompiledRule {
  readonly program: CelProgram;
  /** position in the rule set, for per-list memos (list-judge.ts) */
  readonly index: number;
  /** false: the rule's value is the same for every item of a list (item-invariance.ts) */
  readonly readsMcp: boolean;
}

export interface CompiledRuleSet {
  readonly id: number;
  readonly allow: readonly CompiledRule[];
  readonly deny: readonly CompiledRule[];
  readonly require: readonly CompiledRule[];
  /** allow + deny + require */
  readonly size: number;
}

/** Compiled in the environment the config loader checks rules against (protocol/cel-environment.ts);
 * throws the library's ParseError on a syntax error. */
export function compileRule(expr: string): CelProgram {
  return compileCel(expr);
}

/**
 * Compiles every rule. A rule that does not parse throws: the config loader must have
 * refused it already, and silently dropping it would turn a bad deny rule into "allow".
 */
export function compileRuleSet(init: RuleSetInit): CompiledRuleSet {
  const allow: CompiledRule[] = [];
  const deny: CompiledRule[] = [];
  const require: CompiledRule[] = [];
  for (const [index, rule] of init.rules.entries()) {
    let program: CelProgram;
    try {
      program = compileRule(rule.expr);
    } catch (err) {
      const why = errorText(err);
      throw new Error(`rule set ${init.id}, rule ${index}: CEL does not compile: ${why}`, { cause: err });
    }
    const compiled: CompiledRule = { program, index, readsMcp: readsVariable(program.ast, 'mcp') };
    if (rule.kind === 'allow') allow.push(compiled);
    else if (rule.kind === 'deny') deny.push(compiled);
    else if (rule.kind === 'require') require.push(compiled);
    else throw new Error(`rule set ${init.id}, rule ${index}: unknown kind ${JSON.stringify(rule.kind)}`);
  }
  return { id: init.id, allow, deny, require, size: init.rules.length };
}

export function hasNoRules(set: CompiledRuleSet): boolean {
  return set.size === 0;
}
