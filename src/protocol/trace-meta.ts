// W3C trace context in a JSON-RPC message's `params._meta` (MCP SEP-414: `traceparent`,
// `tracestate`, `baggage`, un-prefixed), the one carrier a stdio server has. Written into the
// message's text, as message-id.ts swaps ids: only the members set change, the rest (numbers
// past 2^53 in arguments included) goes on as the client sent it. No I/O.

import { skipWhitespace, stringEnd } from './message-id.js';

interface Member {
  readonly name: string;
  readonly valueStart: number;
  readonly valueEnd: number;
}

interface ObjectText {
  /** index of `{` */
  readonly open: number;
  readonly members: readonly Member[];
}

/** Past the value starting at i (valid JSON known). */
function valueEnd(text: string, i: number): number {
  const c = text.charAt(i);
  if (c === '"') return stringEnd(text, i);
  if (c !== '{' && c !== '[') {
    let j = i;
    while (j < text.length && !',}] \t\n\r'.includes(text.charAt(j))) j++;
    return j;
  }
  let depth = 0;
  for (let j = i; j < text.length; j++) {
    const d = text.charAt(j);
    if (d === '"') j = stringEnd(text, j) - 1;
    else if (d === '{' || d === '[') depth++;
    else if ((d === '}' || d === ']') && --depth === 0) return j + 1;
  }
  return text.length;
}

/** The members of the object whose `{` is at `open`. */
function objectAt(text: string, open: number): ObjectText {
  const members: Member[] = [];
  let i = skipWhitespace(text, open + 1);
  while (text.charAt(i) === '"') {
    const end = stringEnd(text, i);
    const raw = text.slice(i, end);
    const decoded: unknown = raw.includes('\\') ? JSON.parse(raw) : raw.slice(1, -1);
    const valueStart = skipWhitespace(text, skipWhitespace(text, end) + 1);
    const after = valueEnd(text, valueStart);
    members.push({ name: typeof decoded === 'string' ? decoded : raw, valueStart, valueEnd: after });
    i = skipWhitespace(text, after);
    if (text.charAt(i) !== ',') break;
    i = skipWhitespace(text, i + 1);
  }
  return { open, members };
}

interface Edit {
  readonly at: number;
  readonly end: number;
  readonly text: string;
}

function memberText(entries: ReadonlyArray<readonly [string, string]>): string {
  return entries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',');
}

/** Inserts members right after an object's `{`. */
function insertInto(obj: ObjectText, members: string): Edit {
  return { at: obj.open + 1, end: obj.open + 1, text: obj.members.length === 0 ? members : `${members},` };
}

/**
 * `text` (one JSON-RPC request or notification, already parsed successfully) with `entries` set
 * in `params._meta`: a member already there gets the new value, the others are added, and
 * `params` or `_meta` are added when missing. Null when `params` or `_meta` is there but is no
 * object: the message is left as it is.
 */
export function stampMeta(text: string, entries: ReadonlyArray<readonly [string, string]>): string | null {
  const rootOpen = skipWhitespace(text, 0);
  if (text.charAt(rootOpen) !== '{' || entries.length === 0) return null;
  const root = objectAt(text, rootOpen);
  const params = root.members.find((m) => m.name === 'params');
  let edits: Edit[];
  if (params === undefined) edits = [insertInto(root, `"params":{"_meta":{${memberText(entries)}}}`)];
  else {
    if (text.charAt(params.valueStart) !== '{') return null;
    const p = objectAt(text, params.valueStart);
    const meta = p.members.find((m) => m.name === '_meta');
    if (meta === undefined) edits = [insertInto(p, `"_meta":{${memberText(entries)}}`)];
    else {
      if (text.charAt(meta.valueStart) !== '{') return null;
      const m = objectAt(text, meta.valueStart);
      edits = [];
      const added: Array<readonly [string, string]> = [];
      for (const entry of entries) {
        const there = m.members.find((x) => x.name === entry[0]);
        if (there === undefined) added.push(entry);
        else edits.push({ at: there.valueStart, end: there.valueEnd, text: JSON.stringify(entry[1]) });
      }
      if (added.length > 0) edits.push(insertInto(m, memberText(added)));
    }
  }
  let out = text;
  for (const e of edits.sort((a, b) => b.at - a.at)) out = out.slice(0, e.at) + e.text + out.slice(e.end);
  return out;
}
