// MCP names the gateway acts on: methods whose target must be authorized, and list methods
// whose results are filtered.

import type { CallParams } from './jsonrpc.js';
import type { ListKind } from './worker-contract.js';

export type ResourceKind = 'tool' | 'prompt' | 'resource';

/** A call that targets one named tool, prompt or resource. */
export interface CallTarget {
  readonly kind: ResourceKind;
  /** as the client sent it (possibly `<target>_` prefixed) */
  readonly name: string;
}

// Maps, not object literals: the method is the client's text, and `constructor` or `__proto__`
// must be an unknown method like any other, not a lookup that reaches Object.prototype.
const callMethods: ReadonlyMap<string, { kind: ResourceKind; param: 'name' | 'uri' }> = new Map([
  ['tools/call', { kind: 'tool', param: 'name' }],
  ['prompts/get', { kind: 'prompt', param: 'name' }],
  ['resources/read', { kind: 'resource', param: 'uri' }],
  ['resources/subscribe', { kind: 'resource', param: 'uri' }],
  ['resources/unsubscribe', { kind: 'resource', param: 'uri' }],
]);

/** `completion/complete` names its prompt or resource (template) in `params.ref`. */
function completionTarget(params: CallParams | null): CallTarget {
  const ref = params?.ref;
  const isResource = ref?.type === 'ref/resource';
  const raw = isResource ? ref?.uri : ref?.name;
  // Another ref type names nothing we can judge: an empty prompt name, which no rule allows by name.
  return { kind: isResource ? 'resource' : 'prompt', name: raw !== undefined && (isResource || ref?.type === 'ref/prompt') ? raw : '' };
}

/** The tool/prompt/resource a request targets, or null for methods that target none.
 * Returns `{kind, name: ''}` when the method needs a name and none is given (fail closed).
 * A completion targets the prompt or resource it completes arguments of: its suggestions tell
 * about an item the caller may not see. */
export function callTargetOf(method: string, params: CallParams | null): CallTarget | null {
  if (method === 'completion/complete') return completionTarget(params);
  const spec = callMethods.get(method);
  if (spec === undefined) return null;
  return { kind: spec.kind, name: params?.[spec.param] ?? '' };
}

const listMethods: ReadonlyMap<string, ListKind> = new Map([
  ['tools/list', 'tools'],
  ['prompts/list', 'prompts'],
  ['resources/list', 'resources'],
  ['resources/templates/list', 'resourceTemplates'],
]);

export function listKindOf(method: string): ListKind | null {
  return listMethods.get(method) ?? null;
}

/** `Unknown tool: echo` — the same words for a denied name as for one that does not exist. */
export function unknownTargetMessage(target: CallTarget): string {
  return `Unknown ${target.kind}: ${target.name}`;
}

/** The methods of MCP (2025-06-18, 2025-11-25) and the gateway's own names for GET streams and
 * session ends: a metric label is one of these or `other`, since the method is the client's text. */
const knownMethods: ReadonlySet<string> = new Set([
  'initialize', 'ping', 'logging/setLevel', 'completion/complete',
  'tools/list', 'tools/call', 'prompts/list', 'prompts/get',
  'resources/list', 'resources/templates/list', 'resources/read', 'resources/subscribe', 'resources/unsubscribe',
  'sampling/createMessage', 'elicitation/create', 'roots/list',
  'tasks/get', 'tasks/result', 'tasks/list', 'tasks/cancel',
  'notifications/initialized', 'notifications/cancelled', 'notifications/progress', 'notifications/message',
  'notifications/roots/list_changed', 'notifications/tools/list_changed', 'notifications/prompts/list_changed',
  'notifications/resources/list_changed', 'notifications/resources/updated', 'notifications/elicitation/complete',
  'notifications/tasks/status',
  'sse', 'stream', 'session/delete',
]);

export function methodLabel(method: string): string {
  return knownMethods.has(method) ? method : 'other';
}

/** Requests that read and change nothing: sent twice, they do no harm, so a retry may resend
 * them after the upstream received them. Everything else (tools/call, initialize, notifications,
 * answers to a server) is resent only when the upstream never got it. */
const idempotentMethods: ReadonlySet<string> = new Set([
  'ping', 'tools/list', 'prompts/list', 'prompts/get', 'resources/list', 'resources/templates/list', 'resources/read',
  'completion/complete',
]);

export function isIdempotent(method: string): boolean {
  return idempotentMethods.has(method);
}
