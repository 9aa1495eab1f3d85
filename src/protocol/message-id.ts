// Swapping a JSON-RPC message's id in its text. Channel targets (stdio, legacy SSE) get requests
// under ids the gateway chose, so two clients' ids can never collide there; the answer goes back
// under the client's id. Only the id's token changes: re-serialising the whole message would
// round numbers past 2^53 in tool arguments and results, and the rest is relayed as sent.

import type { JsonRpcId } from './jsonrpc.js';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** Past the string token whose opening quote is at i (the text is known to be valid JSON). */
export function stringEnd(text: string, i: number): number {
  for (let j = i + 1; j < text.length; j++) {
    const c = text.charCodeAt(j);
    if (c === BACKSLASH) j++;
    else if (c === QUOTE) return j + 1;
  }
  return text.length;
}

export function skipWhitespace(text: string, i: number): number {
  while (i < text.length && ' \t\n\r'.includes(text.charAt(i))) i++;
  return i;
}

function isIdKey(token: string): boolean {
  if (token === '"id"') return true;
  if (!token.includes('\\')) return false;
  const key: unknown = JSON.parse(token);
  return key === 'id';
}

/**
 * `text`, one JSON object already parsed successfully, with the value of every top-level `id`
 * member (JSON.parse keeps the last of duplicates; another reader may keep the first) replaced
 * by `id`. Null when the text is no object with a string, number or null id.
 */
export function replaceMessageId(text: string, id: JsonRpcId): string | null {
  let i = skipWhitespace(text, 0);
  if (text.charAt(i) !== '{') return null;
  const idText = JSON.stringify(id);
  let out = '';
  let copied = 0;
  let replaced = false;
  let depth = 0;
  // At depth 1 a string right after `{` or `,` is a member name.
  let atName = false;
  while (i < text.length) {
    const c = text.charAt(i);
    if (c === '"') {
      const end = stringEnd(text, i);
      if (depth === 1 && atName && isIdKey(text.slice(i, end))) {
        const valueStart = skipWhitespace(text, skipWhitespace(text, end) + 1);
        const first = text.charAt(valueStart);
        if (first === '{' || first === '[' || first === 't' || first === 'f') return null;
        let valueEnd = valueStart;
        if (first === '"') valueEnd = stringEnd(text, valueStart);
        else while (valueEnd < text.length && !',} \t\n\r'.includes(text.charAt(valueEnd))) valueEnd++;
        out += text.slice(copied, valueStart) + idText;
        copied = valueEnd;
        replaced = true;
        i = valueEnd;
      } else i = end;
      atName = false;
      continue;
    }
    if (c === '{' || c === '[') {
      depth++;
      atName = c === '{' && depth === 1;
    } else if (c === '}' || c === ']') depth--;
    else if (c === ',' && depth === 1) atName = true;
    i++;
  }
  return replaced ? out + text.slice(copied) : null;
}
