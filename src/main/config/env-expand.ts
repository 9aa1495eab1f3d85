// Shell-style variable expansion over the whole config text, before YAML parsing, as agentgateway
// does with `shellexpand`: `$VAR`, `${VAR}`, `${VAR:-default}`. The rules below follow shellexpand
// so a file expands the same way under both gateways:
// * a name is letters, digits and `_` (Unicode letters count);
// * `${...}` ends at the first `}`; an unclosed `${` stays literal;
// * the default is used only when the variable is unset (a variable set to "" expands to "");
// * `$$` is an escape for one literal `$`; a `$` followed by anything else stays literal.

import type { ConfigIssue } from './types.js';

export type Env = Readonly<Record<string, string | undefined>>;

export interface ExpandResult {
  readonly text: string;
  readonly issues: readonly ConfigIssue[];
}

const NAME_CHAR = /[\p{Alphabetic}\p{N}_]/u;

/** agentgateway removes this so the schema URL in the editor comment is not expanded. */
const SCHEMA_COMMENT = '# yaml-language-server: $schema';

export function expandEnv(source: string, env: Env): ExpandResult {
  const text = source.replaceAll(SCHEMA_COMMENT, '#');
  const issues: ConfigIssue[] = [];
  let out = '';
  let i = 0;

  const lookup = (name: string): string | undefined => (Object.hasOwn(env, name) ? env[name] : undefined);
  const undefinedVar = (name: string, at: number): void => {
    issues.push({
      path: `line ${lineOf(text, at)}`,
      message: `environment variable ${JSON.stringify(name)} is not set (use \${${name}:-default} for a default)`,
    });
  };

  while (i < text.length) {
    const dollar = text.indexOf('$', i);
    if (dollar < 0) {
      out += text.slice(i);
      break;
    }
    out += text.slice(i, dollar);
    const next = text.charAt(dollar + 1);

    if (next === '{') {
      const close = text.indexOf('}', dollar);
      if (close < 0) {
        out += '${';
        i = dollar + 2;
        continue;
      }
      const inner = text.slice(dollar + 2, close);
      const split = inner.indexOf(':-');
      // `${:-x}` has no name, so (as shellexpand) it is not a default form.
      const name = split > 0 ? inner.slice(0, split) : inner;
      const fallback = split > 0 ? inner.slice(split + 2) : undefined;
      const value = lookup(name);
      if (value !== undefined) out += value;
      else if (fallback !== undefined) out += fallback;
      else undefinedVar(name, dollar);
      i = close + 1;
      continue;
    }

    const end = nameEnd(text, dollar + 1);
    if (end > dollar + 1) {
      const name = text.slice(dollar + 1, end);
      const value = lookup(name);
      if (value !== undefined) out += value;
      else undefinedVar(name, dollar);
      i = end;
    } else {
      out += '$';
      i = next === '$' ? dollar + 2 : dollar + 1;
    }
  }
  return { text: out, issues };
}

/** End of the run of name characters starting at `start` (by code point, so astral letters stay whole). */
function nameEnd(text: string, start: number): number {
  let end = start;
  while (end < text.length) {
    const cp = text.codePointAt(end);
    if (cp === undefined) break;
    const ch = String.fromCodePoint(cp);
    if (!NAME_CHAR.test(ch)) break;
    end += ch.length;
  }
  return end;
}

function lineOf(text: string, index: number): number {
  let line = 1;
  for (let p = text.indexOf('\n'); p >= 0 && p < index; p = text.indexOf('\n', p + 1)) line++;
  return line;
}
