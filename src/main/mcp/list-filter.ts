// List filtering: answers, where the request's method names the list, and what servers send on
// their own to a GET stream, where nothing does. The filter puts an error in place of what it
// cannot read safely.

import type { ListKind } from '../../protocol/worker-contract.js';
import type { Maybe } from '../maybe-async.js';
import { prefixed, type McpDeps, type McpRequest } from './context.js';
import { isRecord } from '../../protocol/is-record.js';

const listKinds: readonly ListKind[] = ['tools', 'prompts', 'resources', 'resourceTemplates'];

/** A list member's name, quoted, or an escape that could spell one. */
const mayNameList = /"(?:tools|prompts|resources|resourceTemplates)"|\\u/;

/** Which list a message (an answer's body, an event's data) may carry, so the filter sees it.
 * To a list request the method tells, and every message goes to the filter (it leaves non-list
 * messages untouched, refuses another kind's list, and names spelt with escapes cannot slip past
 * a text search). Otherwise (a GET stream, a resumed answer, the answer to another request) the
 * result's shape does, so a list cannot bypass filtering on any answer; only text that cannot
 * name a list member, even escaped, is skipped without parsing. A batch (an array) holding a
 * list result goes to the filter, which refuses it. */
export function listKindIn(data: string, expected: ListKind | null): ListKind | null {
  if (data === '') return null;
  if (expected !== null) return expected;
  if (!mayNameList.test(data)) return null;
  let message: unknown;
  try {
    message = JSON.parse(data);
  } catch {
    return null; // what JSON.parse refuses, a client's parser does too
  }
  for (const one of Array.isArray(message) ? message : [message]) {
    const result = isRecord(one) ? one['result'] : undefined;
    const kind = isRecord(result) ? listKinds.find((k) => Array.isArray(result[k])) : undefined;
    if (kind !== undefined) return kind;
  }
  return null;
}

/** Whether lists pass the filter on this route: it has rules, or names are prefixed. */
export function listsFiltered(m: McpRequest): boolean {
  return m.route.mcpAuthorization !== null || prefixed(m);
}

/** The list result in `text` filtered for `target` (renamed when prefixed); null when unchanged. */
export function filterList(m: McpRequest, deps: McpDeps, target: string, list: ListKind, text: string): Maybe<string | null> {
  if (!listsFiltered(m)) return null;
  return deps.authorization.filterList(m.route.mcpAuthorization, m, { list, target, prefix: prefixed(m), body: text });
}

/** filterList's answer to a list message still in bytes when the engine remembers the list: the
 * bytes to send (null: as it came); undefined when it does not (decode it and filterList the text). */
export function rememberedList(m: McpRequest, deps: McpDeps, target: string, list: ListKind, bytes: Uint8Array): Uint8Array | null | undefined {
  if (!listsFiltered(m)) return null;
  return deps.authorization.rememberedList(m.route.mcpAuthorization, m, { list, target, prefix: prefixed(m) }, bytes);
}

/** A message the server sent on its own, as the client may see it: a list in its result
 * filtered (the filter refuses a message holding items of two kinds, or a batch with a list). */
export async function filterServerMessage(m: McpRequest, deps: McpDeps, target: string, text: string): Promise<string> {
  if (!listsFiltered(m)) return text;
  const kind = listKindIn(text, null);
  const out = kind === null ? text : ((await filterList(m, deps, target, kind, text)) ?? text);
  return prefixed(m) ? prefixResourceUri(target, out) : out;
}

/**
 * A server's `notifications/resources/updated` names the resource by its URI; where names are
 * prefixed the client knows it as `<target>+<uri>` (the name it listed, read and subscribed to),
 * so the notice is rewritten to name it that way. Any other message is returned unchanged.
 */
export function prefixResourceUri(target: string, text: string): string {
  if (!text.includes('resources/updated')) return text;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return text;
  }
  if (!isRecord(v) || v['method'] !== 'notifications/resources/updated') return text;
  const params = v['params'];
  if (!isRecord(params) || typeof params['uri'] !== 'string') return text;
  return JSON.stringify({ ...v, params: { ...params, uri: `${target}+${params['uri']}` } });
}
