// requestHeaderModifier / responseHeaderModifier (static values) and transformations (values
// computed by CEL, e.g. `x-user: jwt.sub`), compiled once per config generation into edits run on
// every upstream request and every answer relayed. A transformation's header always replaces what
// the client sent (agentgateway's `add` would keep a forged copy beside it), and one whose
// expression fails, or gives no single-line text, is removed rather than left as the client sent it.

import type { CelContext } from '../../protocol/worker-contract.js';
import { compileCel } from '../../protocol/cel-environment.js';
import { celVars, type CelVars } from '../../protocol/cel-values.js';
import type { HeaderModifier, HeaderTransform } from '../config/types.js';
import { latin1OfUtf8 } from '../http/header-text.js';
import type { RawHeaders } from './answer.js';

type Program = (vars: CelVars) => unknown;

type Edit =
  | { readonly op: 'add'; readonly name: string; readonly value: string }
  | { readonly op: 'set'; readonly name: string; readonly value: string }
  | { readonly op: 'remove'; readonly name: string }
  | { readonly op: 'computed'; readonly name: string; readonly program: Program };

/** A header value a CEL result can become: text on one line. */
function headerText(value: unknown): string | null {
  const text = typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean' ? String(value) : null;
  return text !== null && /^[^\0-\x08\x0a-\x1f\x7f]*$/.test(text) ? text : null;
}

export class HeaderEdits {
  readonly #edits: readonly Edit[];
  readonly #onError: (name: string) => void;

  private constructor(edits: readonly Edit[], onError: (name: string) => void) {
    this.#edits = edits;
    this.#onError = onError;
  }

  /** The modifier's edits, then the transformation's (null when neither is set). */
  static compile(modifier: HeaderModifier | null, transform: HeaderTransform | null, onError: (name: string) => void): HeaderEdits | null {
    const edits: Edit[] = [];
    if (modifier !== null) {
      for (const [name, value] of modifier.add) edits.push({ op: 'add', name, value });
      for (const [name, value] of modifier.set) edits.push({ op: 'set', name, value });
      for (const name of modifier.remove) edits.push({ op: 'remove', name });
    }
    if (transform !== null) {
      for (const [name, expr] of [...transform.add, ...transform.set]) {
        const compiled = compileCel(expr);
        edits.push({ op: 'computed', name, program: (vars) => compiled(vars) });
      }
      for (const name of transform.remove) edits.push({ op: 'remove', name });
    }
    return edits.length === 0 ? null : new HeaderEdits(edits, onError);
  }

  /** Applies the edits to request header fields (lower-case names, one comma-joined value each). */
  applyToRequest(headers: Record<string, string>, ctx: () => CelContext): void {
    let vars: CelVars | undefined;
    for (const e of this.#edits) {
      if (e.op === 'remove') delete headers[e.name];
      else if (e.op === 'set') headers[e.name] = latin1OfUtf8(e.value);
      else if (e.op === 'add') {
        const prev = headers[e.name];
        const value = latin1OfUtf8(e.value);
        headers[e.name] = prev === undefined ? value : `${prev}${e.name === 'cookie' ? '; ' : ', '}${value}`;
      } else {
        vars ??= celVars(ctx());
        const value = this.#evaluate(e.name, e.program, vars);
        if (value === null) delete headers[e.name];
        else headers[e.name] = latin1OfUtf8(value);
      }
    }
  }

  /** The edits applied to an answer's raw header list (name, value, …). */
  applyToAnswer(raw: RawHeaders, ctx: () => CelContext): Array<Buffer | string> {
    let out: Array<Buffer | string> = [...raw];
    let vars: CelVars | undefined;
    const without = (name: string): Array<Buffer | string> => {
      const kept: Array<Buffer | string> = [];
      for (let i = 0; i + 1 < out.length; i += 2) {
        const k = out[i];
        const v = out[i + 1];
        if (k === undefined || v === undefined || k.toString().toLowerCase() === name) continue;
        kept.push(k, v);
      }
      return kept;
    };
    for (const e of this.#edits) {
      if (e.op === 'remove') out = without(e.name);
      else if (e.op === 'set') out = [...without(e.name), e.name, Buffer.from(e.value)];
      else if (e.op === 'add') out.push(e.name, Buffer.from(e.value));
      else {
        vars ??= celVars(ctx());
        const value = this.#evaluate(e.name, e.program, vars);
        out = value === null ? without(e.name) : [...without(e.name), e.name, Buffer.from(value)];
      }
    }
    return out;
  }

  #evaluate(name: string, program: Program, vars: CelVars): string | null {
    let value: string | null;
    try {
      value = headerText(program(vars));
    } catch {
      value = null;
    }
    if (value === null) this.#onError(name);
    return value;
  }
}
