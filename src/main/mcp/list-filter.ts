// List filtering outside relay.ts's single-target HTTP path: channel targets' answers (stdio,
// legacy SSE), where the request's method names the list, and what servers send on their own
// to a GET stream (channel sessions, merged streams), where nothing does. There every list kind
// is tried: the filter finds a list by the message's shape with a strict scan, and puts an
// error in place of what it cannot read safely. Same rules and renaming as relay.ts.

import type { ListKind } from '../../protocol/worker-contract.js';
import { celContext, prefixed, type McpDeps, type McpRequest } from './context.js';

const listKinds: readonly ListKind[] = ['tools', 'prompts', 'resources', 'resourceTemplates'];

/** Whether lists pass the filter on this route: it has rules, or names are prefixed. */
export function listsFiltered(m: McpRequest): boolean {
  return m.route.mcpAuthorization !== null || prefixed(m);
}

/** The list result in `text` filtered for `target` (renamed when prefixed); null when unchanged. */
export async function filterList(m: McpRequest, deps: McpDeps, target: string, list: ListKind, text: string): Promise<string | null> {
  if (!listsFiltered(m)) return null;
  const ref = m.route.mcpAuthorization;
  const result = await deps.decider().filter({
    op: 'filter',
    // No rules but prefixed names: the allow-all rule set still renames the items.
    ruleSet: ref?.id ?? deps.allowAllRuleSet,
    ctx: ref === null ? { jwt: m.claims, mcp: null, request: null, source: null } : celContext(m, ref, null),
    list,
    target,
    prefix: prefixed(m),
    body: text,
  });
  if (result.ruleErrors > 0) deps.onRuleErrors(result.ruleErrors);
  return result.body;
}

/** A message the server sent on its own, as the client may see it: any list in its result filtered. */
export async function filterServerMessage(m: McpRequest, deps: McpDeps, target: string, text: string): Promise<string> {
  // Only text with a `result` member, spelt plainly or with escapes, can hold a list result.
  if (!listsFiltered(m) || (!text.includes('"result"') && !text.includes('\\u'))) return text;
  let out = text;
  for (const list of listKinds) out = (await filterList(m, deps, target, list, out)) ?? out;
  return out;
}

export interface FilteredWriter {
  /** A session listener: the message goes out through the filter. */
  readonly message: (text: string) => void;
  /** Runs `fn` once the messages before it are written. */
  readonly after: (fn: () => void) => void;
}

/**
 * Writes a session's server messages through the filter in the order they came (filtering may
 * finish out of order). A message the filter fails on is not written.
 */
export function filteredWriter(m: McpRequest, deps: McpDeps, target: string, write: (text: string) => void): FilteredWriter {
  let queue = Promise.resolve();
  const after = (fn: () => void | Promise<void>): void => {
    queue = queue.then(fn).catch((err: unknown) => {
      m.record.error = `a message from ${target} was dropped: ${err instanceof Error ? err.message : String(err)}`;
    });
  };
  return {
    message: (text) =>
      after(async () => {
        const out = await filterServerMessage(m, deps, target, text);
        if (m.reply.open) write(out);
      }),
    after,
  };
}
