// Rule evaluation and combination (the config's mcpAuthorization rules):
// no rules → allow; any deny true → deny; any require false → deny; any allow true → allow;
// otherwise allow only when there are no allow rules. A rule counts as true only when it
// returns exactly `true`; an error or any other value is false and counted in ruleErrors.
// Evaluation stops as soon as the outcome is fixed, so ruleErrors counts the rules evaluated.
import type { CelContext, DecideResult } from '../../protocol/worker-contract.js';
import { celVars, type CelVars } from '../../protocol/cel-values.js';
import type { CelProgram, CompiledRule, CompiledRuleSet } from './compile.js';

/** Per-decision error tally; reused across the items of one filter pass. */
export interface ErrorTally {
  count: number;
}

/** What evaluating a program gave. */
const TRUE = 1;
const FALSE = 2;
/** it threw, or gave something other than a bool */
const ERROR = 3;
export type Outcome = typeof TRUE | typeof FALSE | typeof ERROR;

export function outcomeOf(program: CelProgram, vars: CelVars): Outcome {
  let value: unknown;
  try {
    value = program(vars);
  } catch {
    return ERROR;
  }
  return value === true ? TRUE : value === false ? FALSE : ERROR;
}

/** A rule's outcome as a decision: true only for TRUE; errors are counted. */
export function counted(outcome: Outcome, tally: ErrorTally): boolean {
  if (outcome === ERROR) tally.count++;
  return outcome === TRUE;
}

/** The combination, with each rule's value from `holds` (called in order, only while needed). */
export function combine(rules: CompiledRuleSet, holds: (rule: CompiledRule) => boolean): boolean {
  for (const r of rules.deny) if (holds(r)) return false;
  for (const r of rules.require) if (!holds(r)) return false;
  for (const r of rules.allow) if (holds(r)) return true;
  return rules.allow.length === 0;
}

/** Combination without touching Error.stackTraceLimit; call inside `withoutStackTraces`. */
export function evaluateRules(rules: CompiledRuleSet, ctx: CelContext, tally: ErrorTally): boolean {
  const vars = celVars(ctx);
  return combine(rules, (r) => counted(outcomeOf(r.program, vars), tally));
}

/**
 * cel-js reports a missing key by throwing, and capturing the stack costs more than the throw
 * itself. Errors here are data, so drop stacks while
 * evaluating and restore the limit after: this code also runs inline on the main thread.
 */
export function withoutStackTraces<T>(fn: () => T): T {
  const saved = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return fn();
  } finally {
    Error.stackTraceLimit = saved;
  }
}

export function decide(rules: CompiledRuleSet, ctx: CelContext): DecideResult {
  const tally: ErrorTally = { count: 0 };
  const allow = withoutStackTraces(() => evaluateRules(rules, ctx, tally));
  return { allow, ruleErrors: tally.count };
}
