// JSON.parse keeps the last of two members with the same name; another parser (an upstream, a
// log pipeline, an auditor's tool) may keep the first. A token or message that says two things
// at once is refused instead (RFC 7515 §4: header parameter names must be unique; RFC 8259 §4:
// names SHOULD be unique, and parsers differ where they are not).
//
// Nesting is bounded the same way: serde_json, which agentgateway and many upstreams parse with,
// stops at 128 levels, and deeper values overflow the stack of anything that walks them
// recursively (JSON.stringify, msgpackr, structuredClone) further down the gateway.

/** serde_json's default recursion limit. */
export const MAX_JSON_DEPTH = 128;

export type MemberProblem = { readonly kind: 'duplicate'; readonly name: string } | { readonly kind: 'too_deep'; readonly limit: number };

/** The first problem of one value of valid JSON text: a name that occurs twice in one object, or
 * containers nested deeper than `maxDepth`; null when there is none. */
export function memberProblem(text: string, maxDepth: number = MAX_JSON_DEPTH): MemberProblem | null {
  // One entry per open container: the names seen so far (objects) or null (arrays).
  const stack: Array<Set<string> | null> = [];
  let expectName = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      let j = i + 1;
      let escaped = false;
      while (j < text.length) {
        const d = text.charCodeAt(j);
        if (d === 0x5c) {
          escaped = true;
          j += 2;
          continue;
        }
        if (d === 0x22) break;
        j++;
      }
      const names = stack[stack.length - 1];
      if (expectName && names !== undefined && names !== null) {
        const raw = text.slice(i, j + 1);
        // Escapes (`"k\u0069d"`) must compare decoded.
        const decoded: unknown = escaped ? JSON.parse(raw) : raw.slice(1, -1);
        const name = typeof decoded === 'string' ? decoded : raw;
        if (names.has(name)) return { kind: 'duplicate', name };
        names.add(name);
        expectName = false;
      }
      i = j;
    } else if (c === 0x7b || c === 0x5b) {
      if (stack.length === maxDepth) return { kind: 'too_deep', limit: maxDepth };
      stack.push(c === 0x7b ? new Set() : null);
      expectName = c === 0x7b;
    } else if (c === 0x7d || c === 0x5d) {
      stack.pop();
      expectName = false;
    } else if (c === 0x2c) {
      const top = stack[stack.length - 1];
      expectName = top !== undefined && top !== null;
    }
  }
  return null;
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
