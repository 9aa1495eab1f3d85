// JSON-RPC 2.0 envelope: the few fields routing and authorization read, parsed cheaply.
// Full MCP schema validation is the upstream's job; the gateway only needs method, id and the
// name of the tool/prompt/resource a call targets.

import { describeMemberProblem, MemberCheck } from './json-members.js';
import { FAIL, JsonScanner } from './json-scan.js';

export type JsonRpcId = string | number;

export const JsonRpcError = {
  parseError: -32700,
  invalidRequest: -32600,
  methodNotFound: -32601,
  invalidParams: -32602,
  internalError: -32603,
} as const;

/** What the gateway reads of a request's `params`: the names a call may target (a value that is
 * no string reads as absent, as does a `ref` that is no object). */
export interface CallParams {
  readonly name: string | undefined;
  readonly uri: string | undefined;
  readonly ref: { readonly type: string | undefined; readonly name: string | undefined; readonly uri: string | undefined } | undefined;
}

export type ParsedMessage =
  | { readonly kind: 'request'; readonly id: JsonRpcId; readonly method: string; readonly params: CallParams | null }
  | { readonly kind: 'notification'; readonly method: string; readonly params: CallParams | null }
  | { readonly kind: 'response'; readonly id: JsonRpcId | null }
  | { readonly kind: 'invalid'; readonly reason: string };

const QUOTE = 0x22;
const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;

const notJson: ParsedMessage = { kind: 'invalid', reason: 'body is not valid JSON' };

/** A member's value: where its token starts and ends (end is FAIL while absent). */
interface Token {
  start: number;
  end: number;
}

/**
 * Classifies one JSON-RPC message. Batches are refused: 2025-06-18 removed them, and a batch
 * would let one POST carry calls that each need their own authorization decision. So is a
 * member named twice in any object (JSON.parse keeps the last copy, an upstream's parser may keep
 * the first, and the call decided on would not be the one run), and nesting past serde_json's
 * limit.
 *
 * One strict pass over the text (json-scan.ts) checks all of it as JSON.parse would, and the
 * names and depth as it goes, and reads only the members routing and authorization need; the
 * body is relayed as it came, so nothing else of it is built. Where the text is not JSON at all,
 * that is the reason given, whatever else is wrong with it (as when JSON.parse came first).
 */
export function parseMessage(text: string): ParsedMessage {
  const scanner = new JsonScanner(text);
  const start = scanner.skipWhitespace(0);
  const first = text.charCodeAt(start);
  if (first !== OPEN_BRACE) {
    if (!scanner.isJsonText()) return notJson;
    return first === OPEN_BRACKET ? { kind: 'invalid', reason: 'JSON-RPC batches are not supported' } : { kind: 'invalid', reason: 'not a JSON-RPC 2.0 message' };
  }
  const check = new MemberCheck(scanner);
  const jsonrpc: Token = { start: 0, end: FAIL };
  const id: Token = { start: 0, end: FAIL };
  const method: Token = { start: 0, end: FAIL };
  const params: Token = { start: 0, end: FAIL };
  let callParams: CallParams | null = null;
  let answers = false;
  const end = walkChecked(scanner, check, start, (name, valueStart) => {
    if (name === 'params' && text.charCodeAt(valueStart) === OPEN_BRACE) {
      const read = readCallParams(scanner, check, valueStart);
      set(params, valueStart, read.end);
      callParams = read.params;
      return read.end;
    }
    const valueEnd = scanner.skipValue(valueStart, check);
    if (name === 'jsonrpc') set(jsonrpc, valueStart, valueEnd);
    else if (name === 'id') set(id, valueStart, valueEnd);
    else if (name === 'method') set(method, valueStart, valueEnd);
    else if (name === 'params') set(params, valueStart, valueEnd);
    else if (name === 'result' || name === 'error') answers = true;
    return valueEnd;
  });
  if (end === FAIL || scanner.skipWhitespace(end) !== text.length) {
    // Stopped early: the text is not JSON, or a name or depth check stopped it. JSON or not is
    // told by a scan of the whole text.
    const problem = check.problem;
    if (problem === null || !new JsonScanner(text).isJsonText()) return notJson;
    return { kind: 'invalid', reason: describeMemberProblem(problem) };
  }
  return classify(scanner, { jsonrpc, id, method, params }, callParams, answers);
}

function set(token: Token, start: number, end: number): void {
  token.start = start;
  token.end = end;
}

/** The message's shape, from the members read (the text is valid JSON, its names unique). */
function classify(scanner: JsonScanner, m: Readonly<Record<'jsonrpc' | 'id' | 'method' | 'params', Token>>, params: CallParams | null, answers: boolean): ParsedMessage {
  const text = scanner.text;
  if (m.jsonrpc.end === FAIL || text.charCodeAt(m.jsonrpc.start) !== QUOTE || !scanner.tokenEquals(m.jsonrpc.start, m.jsonrpc.end, '2.0')) {
    return { kind: 'invalid', reason: 'not a JSON-RPC 2.0 message' };
  }
  if (m.params.end !== FAIL && params === null && text.charCodeAt(m.params.start) !== OPEN_BRACKET) {
    return { kind: 'invalid', reason: 'params must be an object' };
  }
  const id = m.id.end === FAIL ? undefined : idValue(scanner, m.id);
  if (m.method.end !== FAIL) {
    const method = text.charCodeAt(m.method.start) === QUOTE ? scanner.stringValue(m.method.start, m.method.end) : null;
    if (method === null) return { kind: 'invalid', reason: 'method must be a string' };
    if (id === undefined) return { kind: 'notification', method, params };
    if (typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id))) return { kind: 'request', id, method, params };
    return { kind: 'invalid', reason: 'id must be a string or a number' };
  }
  if (answers && (id === null || typeof id === 'string' || typeof id === 'number')) return { kind: 'response', id };
  return { kind: 'invalid', reason: 'neither a request, a notification nor a response' };
}

/** An id's value: a string or number as JSON.parse reads it, null, or false for anything else. */
function idValue(scanner: JsonScanner, token: Token): JsonRpcId | null | false {
  const text = scanner.text;
  const c = text.charCodeAt(token.start);
  if (c === QUOTE) return scanner.stringValue(token.start, token.end) ?? false;
  if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return Number(text.slice(token.start, token.end));
  return c === 0x6e ? null : false; // null, or true/false/an object/an array
}

/** The names `params` (an object at `start`) gives a call; end is FAIL where the walk stopped. */
function readCallParams(scanner: JsonScanner, check: MemberCheck, start: number): { readonly end: number; readonly params: CallParams } {
  let name: string | undefined;
  let uri: string | undefined;
  let ref: CallParams['ref'];
  const end = walkChecked(scanner, check, start, (member, valueStart) => {
    if (member === 'ref' && scanner.text.charCodeAt(valueStart) === OPEN_BRACE) {
      let type: string | undefined;
      let refName: string | undefined;
      let refUri: string | undefined;
      const refEnd = walkChecked(scanner, check, valueStart, (field, at) => {
        const value = scanner.skipValue(at, check);
        if (field === 'type') type = stringAt(scanner, at, value);
        else if (field === 'name') refName = stringAt(scanner, at, value);
        else if (field === 'uri') refUri = stringAt(scanner, at, value);
        return value;
      });
      ref = { type, name: refName, uri: refUri };
      return refEnd;
    }
    const value = scanner.skipValue(valueStart, check);
    if (member === 'name') name = stringAt(scanner, valueStart, value);
    else if (member === 'uri') uri = stringAt(scanner, valueStart, value);
    return value;
  });
  return { end, params: { name, uri, ref } };
}

/** Walks the object at `start` with the check's names and depth counted; past its `}` or FAIL. */
function walkChecked(scanner: JsonScanner, check: MemberCheck, start: number, visit: (name: string, valueStart: number) => number): number {
  if (!check.open(true)) return FAIL;
  const end = scanner.walkObject(start, (nameStart, nameEnd, valueStart) => (check.name(nameStart, nameEnd) ? visit(check.lastName, valueStart) : FAIL));
  if (end !== FAIL) check.close();
  return end;
}

/** The string a value token holds, or undefined when it is no string (or FAIL). */
function stringAt(scanner: JsonScanner, start: number, end: number): string | undefined {
  if (end === FAIL || scanner.text.charCodeAt(start) !== QUOTE) return undefined;
  return scanner.stringValue(start, end) ?? undefined;
}

/** The text of a JSON-RPC error response. */
export function errorMessage(id: JsonRpcId | null, code: number, message: string): string {
  return JSON.stringify({ jsonrpc: '2.0', id, error: { code, message } });
}

/** Whether an answer is a JSON-RPC error (text that is not a JSON object counts as one). */
export function isErrorAnswer(text: string): boolean {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v !== 'object' || v === null || 'error' in v;
  } catch {
    return true;
  }
}
