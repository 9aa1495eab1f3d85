// The message check src/protocol/jsonrpc.ts replaced with its one-pass scan: JSON.parse, then
// the member names and depth checked character by character (json-members.ts before), then the
// message's shape read from the parsed value. Kept as the reference: the differential test
// (test/unit/protocol/jsonrpc.test.ts) holds parseMessage to it, and message-micro.ts measures
// one against the other.

import { describeMemberProblem, MAX_JSON_DEPTH, type MemberProblem } from '../src/protocol/json-members.js';

/** The first repeated member name or over-deep container of valid JSON text, character by character. */
export function referenceMemberProblem(text: string, maxDepth = MAX_JSON_DEPTH): MemberProblem | null {
  const stack: Array<Set<string> | null> = [];
  let expectName = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charAt(i);
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text.charAt(j) !== '"') j += text.charAt(j) === '\\' ? 2 : 1;
      const names = stack[stack.length - 1];
      if (expectName && names !== undefined && names !== null) {
        const name: unknown = JSON.parse(text.slice(i, j + 1));
        if (typeof name !== 'string') throw new TypeError('a name that is no string');
        if (names.has(name)) return { kind: 'duplicate', name };
        names.add(name);
        expectName = false;
      }
      i = j;
    } else if (c === '{' || c === '[') {
      if (stack.length === maxDepth) return { kind: 'too_deep', limit: maxDepth };
      stack.push(c === '{' ? new Set() : null);
      expectName = c === '{';
    } else if (c === '}' || c === ']') {
      stack.pop();
      expectName = false;
    } else if (c === ',') {
      const top = stack[stack.length - 1];
      expectName = top !== undefined && top !== null;
    }
  }
  return null;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function stringOrUndefined(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** A JSON-RPC message classified from JSON.parse's value, the call's names read from the parsed
 * params, as parseMessage answers. */
export function referenceParseMessage(text: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { kind: 'invalid', reason: 'body is not valid JSON' };
  }
  if (Array.isArray(value)) return { kind: 'invalid', reason: 'JSON-RPC batches are not supported' };
  const problem = referenceMemberProblem(text);
  if (problem !== null) return { kind: 'invalid', reason: describeMemberProblem(problem) };
  if (!isRecord(value) || value['jsonrpc'] !== '2.0') return { kind: 'invalid', reason: 'not a JSON-RPC 2.0 message' };
  const { id, method, params } = value;
  if (params !== undefined && !isRecord(params) && !Array.isArray(params)) return { kind: 'invalid', reason: 'params must be an object' };
  const ref = isRecord(params) ? params['ref'] : undefined;
  const p = isRecord(params)
    ? {
        name: stringOrUndefined(params['name']),
        uri: stringOrUndefined(params['uri']),
        ref: isRecord(ref) ? { type: stringOrUndefined(ref['type']), name: stringOrUndefined(ref['name']), uri: stringOrUndefined(ref['uri']) } : undefined,
      }
    : null;
  if (typeof method === 'string') {
    if (id === undefined) return { kind: 'notification', method, params: p };
    if (typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id))) return { kind: 'request', id, method, params: p };
    return { kind: 'invalid', reason: 'id must be a string or a number' };
  }
  if (method !== undefined) return { kind: 'invalid', reason: 'method must be a string' };
  if ('result' in value || 'error' in value) {
    if (id === null || typeof id === 'string' || typeof id === 'number') return { kind: 'response', id };
  }
  return { kind: 'invalid', reason: 'neither a request, a notification nor a response' };
}
