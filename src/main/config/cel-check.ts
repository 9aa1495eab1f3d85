// CEL rules are checked while the config loads (agentgateway compiles them at load, so a typo
// fails the load instead of silently denying at run time). The check is cel-js's own type check
// in the environment the workers compile in (protocol/cel-environment.ts): what it refuses could
// never run, so a rule calling a function Portcullis does not provide (agentgateway's `json`,
// `default`, `cidr`…) fails the load too, as does one whose value can never be a bool. Without
// it such a rule errors on every request: an allow rule never allows, and a deny rule never denies.

import {
  CEL_VARIABLES, LOG_CEL_VARIABLES, celFunctionNames, checkCel, checkLogCel, compileCel, compileLogCel, type ASTNode,
} from '../../protocol/cel-environment.js';

/** An environment expressions are checked in, and how its messages name what they check. */
interface Dialect {
  readonly check: typeof checkCel;
  readonly compile: typeof compileCel;
  readonly variables: readonly string[];
  /** `rule`, `expression` */
  readonly noun: string;
  /** `rules read`, `it can read`: before the list of variables */
  readonly readers: string;
}

const rules: Dialect = { check: checkCel, compile: compileCel, variables: CEL_VARIABLES, noun: 'rule', readers: 'rules read' };
const values: Dialect = { ...rules, noun: 'expression', readers: 'it can read' };
const logExpressions: Dialect = { check: checkLogCel, compile: compileLogCel, variables: LOG_CEL_VARIABLES, noun: 'expression', readers: 'access-log expressions read' };

function isAstNode(value: unknown): value is ASTNode {
  return typeof value === 'object' && value !== null && 'op' in value && 'args' in value && typeof value.op === 'string';
}

/** Every node under `node` (itself included), each after what it holds: `ip(x).isLoopback()`
 * yields `ip(x)` first, so the innermost missing function is the one named. */
function* nodesOf(node: unknown): Generator<ASTNode> {
  if (Array.isArray(node)) {
    for (const n of node) yield* nodesOf(n);
    return;
  }
  if (!isAstNode(node)) return; // a field or function name, a literal's payload
  if (node.op !== 'value') yield* nodesOf(node.args);
  yield node;
}

/** Names a macro binds (`exists(r, …)`, `cel.bind(x, …)`): the identifier a call takes first. */
function boundNames(ast: ASTNode): ReadonlySet<string> {
  const names = new Set<string>();
  for (const n of nodesOf(ast)) {
    const args = n.op === 'call' ? n.args[1] : n.op === 'rcall' ? n.args[2] : [];
    const first = args[0];
    if (args.length > 1 && first !== undefined && first.op === 'id') names.add(first.args);
  }
  return names;
}

/** The first function the rule calls that the environment does not have, as the message names it. */
function missingFunction(ast: ASTNode, variables: readonly string[]): string | null {
  const bound = boundNames(ast);
  for (const n of nodesOf(ast)) {
    if (n.op === 'call' && !celFunctionNames.functions.has(n.args[0])) return `function "${n.args[0]}"`;
    if (n.op === 'rcall' && !celFunctionNames.methods.has(n.args[0])) {
      const receiver = n.args[1];
      // `math.greatest(…)`: a receiver that is no variable is a namespace.
      const namespace = receiver.op === 'id' && !variables.includes(receiver.args) && !bound.has(receiver.args);
      return namespace ? `function "${receiver.args}.${n.args[0]}"` : `method "${n.args[0]}"`;
    }
  }
  return null;
}

function firstLine(text: string): string {
  return text.split('\n', 1)[0] ?? text;
}

/** null when the rule can run; otherwise what is wrong with it, for `<path>: <message>`. */
export function celRuleProblem(expr: string): string | null {
  return celProblem(expr, rules, 'bool', (type) => `the rule's value is of type ${type}, never a bool: the rule can never be true`);
}

/** null when the expression can give a header value (a string); otherwise what is wrong. */
export function celValueProblem(expr: string): string | null {
  return celProblem(expr, values, 'string', (type) => `the expression's value is of type ${type}, never a string (wrap it in string(…))`);
}

/** The same for a `config.logging` expression: the filter must give a bool, a field anything. */
export function celLogProblem(expr: string, mustBeBool: boolean): string | null {
  return celProblem(expr, logExpressions, mustBeBool ? 'bool' : 'any', (type) => `the expression's value is of type ${type}, never a bool: the filter can never be true`);
}

/** null when the expression can give a sampling decision (a bool, or a probability). */
export function celSamplingProblem(expr: string): string | null {
  return celProblem(expr, values, ['bool', 'double', 'int'], (type) => `the expression's value is of type ${type}, never a bool or a number`);
}

/** null when the expression can run (a span or resource attribute takes a value of any type). */
export function celAnyValueProblem(expr: string): string | null {
  return celProblem(expr, values, 'any', () => '');
}

/** `want`: the type the value must have, or one of several. */
function celProblem(expr: string, d: Dialect, want: 'bool' | 'string' | 'any' | readonly string[], wrongType: (type: string) => string): string | null {
  const result = d.check(expr);
  if (result.valid) {
    const type = result.type ?? 'dyn';
    const fits = want === 'any' || type === 'dyn' || (typeof want === 'string' ? type === want : want.includes(type));
    return fits ? null : wrongType(type);
  }
  const error = result.error;
  if (error === undefined) return 'invalid CEL expression';
  if (error.name === 'ParseError') return `invalid CEL expression: ${firstLine(error.message)}`;
  // Named first: a call's arguments are checked before the call (`x.with(y, y.sub)` fails on `y`).
  const missing = missingFunction(d.compile(expr).ast, d.variables);
  if (missing !== null) return `${d.noun} uses ${missing}, which Portcullis does not provide`;
  const node = error.node;
  if (error.code === 'unknown_variable' && node !== undefined && node.op === 'id') {
    return `${d.noun} reads variable "${String(node.args)}", which Portcullis does not provide (${d.readers} ${d.variables.join(', ')})`;
  }
  return `invalid CEL expression: ${firstLine(error.message)}`;
}

