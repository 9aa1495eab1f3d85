// JSON-RPC 2.0 envelope: the few fields routing and authorization read, parsed cheaply.
// Full MCP schema validation is the upstream's job; the gateway only needs method, id and the
// name of the tool/prompt/resource a call targets.

import { describeMemberProblem, memberProblem } from './json-members.js';

export type JsonRpcId = string | number;

export const JsonRpcError = {
  parseError: -32700,
  invalidRequest: -32600,
  methodNotFound: -32601,
  invalidParams: -32602,
  internalError: -32603,
} as const;

export type ParsedMessage =
  | { readonly kind: 'request'; readonly id: JsonRpcId; readonly method: string; readonly params: Readonly<Record<string, unknown>> | null }
  | { readonly kind: 'notification'; readonly method: string; readonly params: Readonly<Record<string, unknown>> | null }
  | { readonly kind: 'response'; readonly id: JsonRpcId | null }
  | { readonly kind: 'invalid'; readonly reason: string };

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Classifies one JSON-RPC message. Batches are refused: 2025-06-18 removed them, and a batch
 * would let one POST carry calls that each need their own authorization decision. So is a
 * member named twice in any object (JSON.parse keeps the last copy, an upstream's parser may keep
 * the first, and the call decided on would not be the one run), and nesting past serde_json's
 * limit. */
export function parseMessage(text: string): ParsedMessage {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { kind: 'invalid', reason: 'body is not valid JSON' };
  }
  if (Array.isArray(value)) return { kind: 'invalid', reason: 'JSON-RPC batches are not supported' };
  const problem = memberProblem(text);
  if (problem !== null) return { kind: 'invalid', reason: describeMemberProblem(problem) };
  if (!isRecord(value) || value['jsonrpc'] !== '2.0') return { kind: 'invalid', reason: 'not a JSON-RPC 2.0 message' };
  const { id, method, params } = value;
  if (params !== undefined && !isRecord(params) && !Array.isArray(params)) {
    return { kind: 'invalid', reason: 'params must be an object' };
  }
  const p = isRecord(params) ? params : null;
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
