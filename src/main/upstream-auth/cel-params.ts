// CEL that builds token requests, evaluated on the main thread per exchange: `additionalParams`
// values and `expression` token sources. Programs are compiled once, when the source is built.
// The context is `jwt` (the verified claims, with `jwt.rawToken`, whose `unredacted()` gives the
// verified token, as agentgateway) and `request.headers` (the client's, joined as in rules).
// Each expression must return a string: anything else, or an error, is a failure to evaluate.

import { Environment } from '@marcbachmann/cel-js';
import { joinedHeaders } from '../http/request.js';
import type { CallerIdentity } from './credential.js';
import { errorText } from '../../protocol/errors.js';

/** The caller's token as a CEL value: redacted unless asked for with `unredacted()`. */
class RawToken {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
}

const environment = new Environment({ unlistedVariablesAreDyn: true })
  .registerType('RawToken', RawToken)
  .registerFunction({ name: 'unredacted', receiverType: 'RawToken', returnType: 'string', handler: (t: RawToken) => t.reveal(), params: [] });

export type StringProgram = (caller: CallerIdentity) => string | null;

/** null when `expr` compiles here; else the parser's first line (the config loader's check). */
export function celCompileError(expr: string): string | null {
  try {
    environment.parse(expr);
    return null;
  } catch (err: unknown) {
    const message = errorText(err);
    return message.split('\n', 1)[0] ?? message;
  }
}

/** Throws the library's ParseError when `expr` does not parse (the config loader refused those). */
export function compileString(expr: string): StringProgram {
  const program = environment.parse(expr);
  return (caller) => {
    let value: unknown;
    try {
      value = program(contextOf(caller));
    } catch {
      return null;
    }
    return typeof value === 'string' ? value : null;
  };
}

export type ParamsResult =
  | { readonly ok: true; readonly params: ReadonlyArray<readonly [string, string]> }
  | { readonly ok: false; readonly name: string };

/** Evaluates every parameter in order; the first that fails names itself. */
export function compileParams(params: ReadonlyArray<{ readonly name: string; readonly expr: string }>): (caller: CallerIdentity) => ParamsResult {
  const programs = params.map((p) => [p.name, compileString(p.expr)] as const);
  return (caller) => {
    const out: Array<readonly [string, string]> = [];
    for (const [name, program] of programs) {
      const value = program(caller);
      if (value === null) return { ok: false, name };
      out.push([name, value]);
    }
    return { ok: true, params: out };
  };
}

function contextOf(caller: CallerIdentity): Record<string, unknown> {
  const jwt = caller.claims === null ? null : { ...caller.claims, ...(caller.token === null ? {} : { rawToken: new RawToken(caller.token) }) };
  return { jwt, request: { headers: joinedHeaders(caller.headers) } };
}
