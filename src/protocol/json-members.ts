// JSON.parse keeps the last of two members with the same name; another parser (an upstream, a
// log pipeline, an auditor's tool) may keep the first. A token or message that says two things
// at once is refused instead (RFC 7515 §4: header parameter names must be unique; RFC 8259 §4:
// names SHOULD be unique, and parsers differ where they are not).
//
// Nesting is bounded the same way: serde_json, which agentgateway and many upstreams parse with,
// stops at 128 levels, and deeper values overflow the stack of anything that walks them
// recursively (JSON.stringify, msgpackr, structuredClone) further down the gateway.

import { JsonScanner, type WalkCheck } from './json-scan.js';

/** serde_json's default recursion limit. */
export const MAX_JSON_DEPTH = 128;

export type MemberProblem = { readonly kind: 'duplicate'; readonly name: string } | { readonly kind: 'too_deep'; readonly limit: number };

/** Objects with more members than this look names up in a Set instead of a list. */
const LIST_LIMIT = 16;

/**
 * A skip's check that every object's member names are unique (compared decoded: `"k\u0069d"` is
 * `kid`) and that containers nest at most `maxDepth` deep; `problem` says why it stopped a skip.
 * One check follows one walk: after a FAIL it is not used again.
 */
export class MemberCheck implements WalkCheck {
  problem: MemberProblem | null = null;
  /** The name last given to name() when it was new (the caller may read it). */
  lastName = '';
  readonly #scanner: JsonScanner;
  readonly #maxDepth: number;
  /** One entry per open container: the names seen so far (objects) or null (arrays). */
  readonly #open: Array<string[] | Set<string> | null> = [];

  constructor(scanner: JsonScanner, maxDepth: number = MAX_JSON_DEPTH) {
    this.#scanner = scanner;
    this.#maxDepth = maxDepth;
  }

  open(isObject: boolean): boolean {
    if (this.#open.length === this.#maxDepth) {
      this.problem = { kind: 'too_deep', limit: this.#maxDepth };
      return false;
    }
    this.#open.push(isObject ? [] : null);
    return true;
  }

  name(nameStart: number, nameEnd: number): boolean {
    const names = this.#open[this.#open.length - 1];
    const name = this.#scanner.stringValue(nameStart, nameEnd) ?? '';
    if (names === undefined || names === null) return true;
    if (Array.isArray(names)) {
      if (names.includes(name)) return this.#duplicate(name);
      names.push(name);
      if (names.length > LIST_LIMIT) this.#open[this.#open.length - 1] = new Set(names);
    } else {
      if (names.has(name)) return this.#duplicate(name);
      names.add(name);
    }
    this.lastName = name;
    return true;
  }

  close(): void {
    this.#open.pop();
  }

  #duplicate(name: string): boolean {
    this.problem = { kind: 'duplicate', name };
    return false;
  }
}

/** The first problem of one value of valid JSON text: a name that occurs twice in one object, or
 * containers nested deeper than `maxDepth`; null when there is none. */
export function memberProblem(text: string, maxDepth: number = MAX_JSON_DEPTH): MemberProblem | null {
  const scanner = new JsonScanner(text);
  const check = new MemberCheck(scanner, maxDepth);
  scanner.skipValue(scanner.skipWhitespace(0), check);
  return check.problem;
}

/** The first name that occurs twice in one object of valid JSON text, or null. */
export function firstDuplicateMember(text: string): string | null {
  const problem = memberProblem(text, Infinity);
  return problem?.kind === 'duplicate' ? problem.name : null;
}

/** A problem as a reason in an answer or a log line (a name is cut: it is the sender's text). */
export function describeMemberProblem(problem: MemberProblem): string {
  return problem.kind === 'duplicate' ? `duplicate member ${JSON.stringify(problem.name).slice(0, 60)}` : `nested deeper than ${problem.limit} levels`;
}
