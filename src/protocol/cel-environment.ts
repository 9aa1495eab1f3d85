// The one CEL environment rules are checked against at load (main) and compiled in (workers):
// the four context variables and every function a rule may call, cel-js's own plus the few of
// agentgateway's string extensions it lacks. Both sides use this definition, so a rule that
// loads calls nothing the runtime does not have. No I/O.
import { Environment, EvaluationError, type ASTNode, type ParseResult, type TypeCheckResult } from '@marcbachmann/cel-js';

/** The variables a rule can read. */
export const CEL_VARIABLES: readonly string[] = ['jwt', 'mcp', 'request', 'source'];

/** What access-log CEL (`config.logging`) can read: a rule's context, and the response. */
export const LOG_CEL_VARIABLES: readonly string[] = [...CEL_VARIABLES, 'response'];

/** Rust's `str::replacen` (agentgateway's `replace`): the first `limit` matches; an empty
 * `from` matches before every character (code point) and at the end. */
function replaceN(s: string, from: string, to: string, limit: number): string {
  if (from === '') {
    const chars = Array.from(s);
    let out = '';
    for (let i = 0; i <= chars.length; i++) out += (i < limit ? to : '') + (chars[i] ?? '');
    return out;
  }
  let out = '';
  let at = 0;
  for (let n = 0; n < limit; n++) {
    const found = s.indexOf(from, at);
    if (found < 0) break;
    out += s.slice(at, found) + to;
    at = found + from.length;
  }
  return out + s.slice(at);
}

/** agentgateway's `charAt`: the character (code point) at `index`, an error past the end. */
function charAt(s: string, index: bigint): string {
  const c = index < 0n ? undefined : Array.from(s)[Number(index)];
  if (c === undefined) throw new EvaluationError(`charAt: no index ${index} in a string of ${Array.from(s).length} characters`);
  return c;
}

function createEnvironment(variables: readonly string[]): Environment {
  // Optional types on: cel-js's checker accepts `optional.of(…)` either way, its runtime only
  // with them, and what the check passes must run.
  const env = new Environment({ enableOptionalTypes: true });
  for (const name of variables) env.registerVariable(name, 'dyn');
  env
    .registerFunction('string.charAt(int): string', charAt)
    .registerFunction('string.replace(string, string): string', (s: string, from: string, to: string) => replaceN(s, from, to, Infinity))
    .registerFunction('string.replace(string, string, int): string', (s: string, from: string, to: string, n: bigint) =>
      replaceN(s, from, to, n < 0n ? Infinity : Number(n)),
    )
    .registerFunction('string.stripPrefix(string): string', (s: string, prefix: string) => (s.startsWith(prefix) ? s.slice(prefix.length) : s))
    .registerFunction('string.stripSuffix(string): string', (s: string, suffix: string) =>
      suffix !== '' && s.endsWith(suffix) ? s.slice(0, s.length - suffix.length) : s,
    );
  return env;
}

const environment = createEnvironment(CEL_VARIABLES);
const logEnvironment = createEnvironment(LOG_CEL_VARIABLES);

/** The rule compiled (throws cel-js's ParseError on a syntax error; type errors fail each run). */
export function compileCel(expr: string): ParseResult {
  return environment.parse(expr);
}

/** cel-js's own type check of the rule in this environment. */
export function checkCel(expr: string): TypeCheckResult {
  return environment.check(expr);
}

/** An access-log expression compiled: the rules' functions, the log's variables. */
export function compileLogCel(expr: string): ParseResult {
  return logEnvironment.parse(expr);
}

export function checkLogCel(expr: string): TypeCheckResult {
  return logEnvironment.check(expr);
}

export interface CelFunctionNames {
  /** called as `f(x)` */
  readonly functions: ReadonlySet<string>;
  /** called as `x.f()` on some receiver (namespaced ones, `cel.bind`, included) */
  readonly methods: ReadonlySet<string>;
}

/** Every function name the environment has, whatever its overloads. */
export const celFunctionNames: CelFunctionNames = (() => {
  const functions = new Set<string>();
  const methods = new Set<string>();
  for (const f of environment.getDefinitions().functions) (f.receiverType === null ? functions : methods).add(f.name);
  return { functions, methods };
})();

export type { ASTNode };
