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

/** How many member names JSON text holds (in every object, at any depth), or -1 when containers
 * nest deeper than `maxDepth`. The text must be valid JSON: a string followed by a colon is
 * then always a name. Allocates nothing. */
function nameCount(text: string, maxDepth: number): number {
  let names = 0;
  let depth = 0;
  const end = text.length;
  for (let i = 0; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // to the closing quote, over escapes
      for (i++; i < end; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x22) break;
        if (d === 0x5c) i++;
      }
      let j = i + 1;
      while (j < end && isJsonWhitespace(text.charCodeAt(j))) j++;
      if (text.charCodeAt(j) === 0x3a) names++;
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > maxDepth) return -1;
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    }
  }
  return names;
}

function isJsonWhitespace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/** Own members of every object in a JSON.parse result: one per distinct name, as JSON.parse keeps
 * only the last of a name (even `__proto__`, which it makes an own member). */
function memberCount(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 0;
  let n = 0;
  if (Array.isArray(value)) {
    const items: readonly unknown[] = value;
    for (let i = 0; i < items.length; i++) n += memberCount(items[i]);
    return n;
  }
  for (const k in value) {
    if (!Object.hasOwn(value, k)) continue;
    n += 1 + memberCount(Reflect.get(value, k));
  }
  return n;
}

/**
 * memberProblem(text) for text that JSON.parse has turned into `parsed`, cheaper when there is
 * none (the usual case): the text's names counted against the members `parsed` holds — fewer
 * members than names means a name occurred twice in some object — with the depth checked on the
 * way; only then the full walk, which says which name or how deep.
 */
export function parsedMemberProblem(text: string, parsed: unknown, maxDepth: number = MAX_JSON_DEPTH): MemberProblem | null {
  const names = nameCount(text, maxDepth);
  if (names >= 0 && names === memberCount(parsed)) return null;
  return memberProblem(text, maxDepth);
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
