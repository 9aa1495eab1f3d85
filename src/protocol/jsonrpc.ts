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
  return reader.read(scanner, start);
}

/**
 * One message's walk: where the members read are (an end of FAIL: absent) and the names a call
 * targets. One reader serves every message in turn (a read runs to its end synchronously), so a
 * message costs no closures or records beyond its answer.
 */
class MessageReader {
  #scanner = new JsonScanner('');
  #check = new MemberCheck(this.#scanner);
  #jsonrpcStart = 0;
  #jsonrpcEnd = FAIL;
  #idStart = 0;
  #idEnd = FAIL;
  #methodStart = 0;
  #methodEnd = FAIL;
  #paramsStart = 0;
  #paramsEnd = FAIL;
  /** `params` was an object, and these its names */
  #paramsObject = false;
  #name: string | undefined;
  #uri: string | undefined;
  /** `params.ref` was an object, and these its names */
  #refObject = false;
  #refType: string | undefined;
  #refName: string | undefined;
  #refUri: string | undefined;
  /** a `result` or `error` member */
  #answers = false;

  read(scanner: JsonScanner, start: number): ParsedMessage {
    this.#scanner = scanner;
    this.#check = new MemberCheck(scanner);
    this.#jsonrpcEnd = this.#idEnd = this.#methodEnd = this.#paramsEnd = FAIL;
    this.#paramsObject = this.#refObject = this.#answers = false;
    this.#name = this.#uri = this.#refType = this.#refName = this.#refUri = undefined;
    const end = scanner.walkObject(start, this.#member, this.#check);
    if (end === FAIL || scanner.skipWhitespace(end) !== scanner.text.length) {
      // Stopped early: the text is not JSON, or a name or depth check stopped it. JSON or not is
      // told by a scan of the whole text.
      const problem = this.#check.problem;
      if (problem === null || !new JsonScanner(scanner.text).isJsonText()) return notJson;
      return { kind: 'invalid', reason: describeMemberProblem(problem) };
    }
    return this.#classify();
  }

  /** A member of the message. */
  readonly #member = (_nameStart: number, _nameEnd: number, at: number): number => {
    const scanner = this.#scanner;
    const name = this.#check.lastName;
    if (name === 'params' && scanner.text.charCodeAt(at) === OPEN_BRACE) {
      this.#paramsObject = true;
      this.#paramsStart = at;
      return (this.#paramsEnd = scanner.walkObject(at, this.#param, this.#check));
    }
    const end = scanner.skipValue(at, this.#check);
    if (name === 'jsonrpc') {
      this.#jsonrpcStart = at;
      this.#jsonrpcEnd = end;
    } else if (name === 'id') {
      this.#idStart = at;
      this.#idEnd = end;
    } else if (name === 'method') {
      this.#methodStart = at;
      this.#methodEnd = end;
    } else if (name === 'params') {
      this.#paramsStart = at;
      this.#paramsEnd = end;
    } else if (name === 'result' || name === 'error') this.#answers = true;
    return end;
  };

  /** A member of `params`. */
  readonly #param = (_nameStart: number, _nameEnd: number, at: number): number => {
    const scanner = this.#scanner;
    const name = this.#check.lastName;
    if (name === 'ref' && scanner.text.charCodeAt(at) === OPEN_BRACE) {
      this.#refObject = true;
      return scanner.walkObject(at, this.#refMember, this.#check);
    }
    const end = scanner.skipValue(at, this.#check);
    if (name === 'name') this.#name = this.#stringAt(at, end);
    else if (name === 'uri') this.#uri = this.#stringAt(at, end);
    return end;
  };

  /** A member of `params.ref`. */
  readonly #refMember = (_nameStart: number, _nameEnd: number, at: number): number => {
    const name = this.#check.lastName;
    const end = this.#scanner.skipValue(at, this.#check);
    if (name === 'type') this.#refType = this.#stringAt(at, end);
    else if (name === 'name') this.#refName = this.#stringAt(at, end);
    else if (name === 'uri') this.#refUri = this.#stringAt(at, end);
    return end;
  };

  /** The string a value token holds, or undefined when it is no string (or FAIL). */
  #stringAt(start: number, end: number): string | undefined {
    const scanner = this.#scanner;
    if (end === FAIL || scanner.text.charCodeAt(start) !== QUOTE) return undefined;
    return scanner.stringValue(start, end) ?? undefined;
  }

  /** The message's shape, from the members read (the text is valid JSON, its names unique). */
  #classify(): ParsedMessage {
    const scanner = this.#scanner;
    const text = scanner.text;
    if (this.#jsonrpcEnd === FAIL || text.charCodeAt(this.#jsonrpcStart) !== QUOTE || !scanner.tokenEquals(this.#jsonrpcStart, this.#jsonrpcEnd, '2.0')) {
      return { kind: 'invalid', reason: 'not a JSON-RPC 2.0 message' };
    }
    if (this.#paramsEnd !== FAIL && !this.#paramsObject && text.charCodeAt(this.#paramsStart) !== OPEN_BRACKET) {
      return { kind: 'invalid', reason: 'params must be an object' };
    }
    const params: CallParams | null = this.#paramsObject
      ? { name: this.#name, uri: this.#uri, ref: this.#refObject ? { type: this.#refType, name: this.#refName, uri: this.#refUri } : undefined }
      : null;
    const id = this.#idEnd === FAIL ? undefined : this.#idValue();
    if (this.#methodEnd !== FAIL) {
      const method = this.#stringAt(this.#methodStart, this.#methodEnd);
      if (method === undefined) return { kind: 'invalid', reason: 'method must be a string' };
      if (id === undefined) return { kind: 'notification', method, params };
      if (typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id))) return { kind: 'request', id, method, params };
      return { kind: 'invalid', reason: 'id must be a string or a number' };
    }
    if (this.#answers && (id === null || typeof id === 'string' || typeof id === 'number')) return { kind: 'response', id };
    return { kind: 'invalid', reason: 'neither a request, a notification nor a response' };
  }

  /** The id's value: a string or number as JSON.parse reads it, null, or false for anything else. */
  #idValue(): JsonRpcId | null | false {
    const scanner = this.#scanner;
    const c = scanner.text.charCodeAt(this.#idStart);
    if (c === QUOTE) return scanner.stringValue(this.#idStart, this.#idEnd) ?? false;
    if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return Number(scanner.text.slice(this.#idStart, this.#idEnd));
    return c === 0x6e ? null : false; // null, or true/false/an object/an array
  }
}

const reader = new MessageReader();

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
