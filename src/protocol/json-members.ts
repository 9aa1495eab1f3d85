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

/** How many member names JSON text holds (in every object, at any depth). The text must be valid
 * JSON: a string followed by a colon is then always a name. Hops from quote to quote with
 * indexOf rather than looking at every character; allocates nothing. */
function nameCount(text: string): number {
  let names = 0;
  const end = text.length;
  for (let open = text.indexOf('"'); open >= 0; ) {
    let close = text.indexOf('"', open + 1);
    // a quote after an odd run of backslashes is part of the string
    while (close > 0 && backslashesBefore(text, close) % 2 === 1) close = text.indexOf('"', close + 1);
    if (close < 0) return names;
    let next = close + 1;
    while (next < end && isJsonWhitespace(text.charCodeAt(next))) next++;
    if (text.charCodeAt(next) === 0x3a) names++;
    open = text.indexOf('"', next);
  }
  return names;
}

function backslashesBefore(text: string, at: number): number {
  let i = at;
  while (text.charCodeAt(i - 1) === 0x5c) i--;
  return at - i;
}

function isJsonWhitespace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/** Own members of every object in a JSON.parse result: one per distinct name, as JSON.parse keeps
 * only the last of a name (even `__proto__`, which it makes an own member); -1 when containers
 * nest deeper than `depth`. */
function memberCount(value: unknown, depth: number): number {
  if (typeof value !== 'object' || value === null) return 0;
  if (depth === 0) return -1;
  let n = 0;
  if (Array.isArray(value)) {
    const items: readonly unknown[] = value;
    for (let i = 0; i < items.length; i++) {
      const m = memberCount(items[i], depth - 1);
      if (m < 0) return -1;
      n += m;
    }
    return n;
  }
  const names = Object.keys(value);
  n = names.length;
  for (let i = 0; i < names.length; i++) {
    const v: unknown = Reflect.get(value, names[i] ?? '');
    if (typeof v !== 'object' || v === null) continue;
    const m = memberCount(v, depth - 1);
    if (m < 0) return -1;
    n += m;
  }
  return n;
}

/**
 * memberProblem(text) for text that JSON.parse has turned into `parsed`, cheaper when there is
 * none (the usual case): the members `parsed` holds counted against the text's names — fewer
 * members than names means a name occurred twice in some object; as many means `parsed` has the
 * text's very containers, so its depth, checked while counting, is the text's — and only then
 * the full walk, which says which name or how deep.
 */
export function parsedMemberProblem(text: string, parsed: unknown, maxDepth: number = MAX_JSON_DEPTH): MemberProblem | null {
  const members = memberCount(parsed, maxDepth);
  if (members >= 0 && members === nameCount(text)) return null;
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
