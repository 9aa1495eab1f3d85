// The `filter` op: drop the items of a list result the caller may not use, optionally
// renaming the rest with their target prefix. Works on the JSON text of one JSON-RPC response.
import type { CelContext, FilterResult, ListKind, McpCelContext } from '../protocol/worker-contract.js';
import { hasNoRules, type CompiledRuleSet } from './cel/compile.js';
import { evaluateRules, withoutStackTraces, type ErrorTally } from './cel/decide.js';
import { isJsonObject, type JsonObject } from './jwt/decode.js';

export interface FilterRequest {
  readonly ctx: CelContext;
  readonly list: ListKind;
  readonly target: string;
  readonly prefix: boolean;
  readonly body: string;
}

interface ListShape {
  /** the member holding the item's name */
  readonly nameKey: 'name' | 'uri' | 'uriTemplate';
  /** the CEL `mcp` member naming the item */
  readonly ref: 'tool' | 'prompt' | 'resource';
  /** the method that would use the item */
  readonly callMethod: 'tools/call' | 'prompts/get' | 'resources/read';
  readonly separator: '_' | '+';
}

const SHAPES: Readonly<Record<ListKind, ListShape>> = {
  tools: { nameKey: 'name', ref: 'tool', callMethod: 'tools/call', separator: '_' },
  prompts: { nameKey: 'name', ref: 'prompt', callMethod: 'prompts/get', separator: '_' },
  resources: { nameKey: 'uri', ref: 'resource', callMethod: 'resources/read', separator: '+' },
  resourceTemplates: { nameKey: 'uriTemplate', ref: 'resource', callMethod: 'resources/read', separator: '+' },
};

const UNCHANGED: FilterResult = { body: null, kept: 0, removed: 0, ruleErrors: 0 };

function parseMessage(body: string): JsonObject | null {
  try {
    const value: unknown = JSON.parse(body);
    return isJsonObject(value) ? value : null;
  } catch {
    return null;
  }
}

function itemContext(ctx: CelContext, shape: ListShape, name: string, target: string): CelContext {
  // The item is judged as if it were being called (`mcp.method` is the call method), so a
  // list shows exactly the items whose call the same rules would allow.
  const ref = { name, target };
  const mcp: McpCelContext =
    shape.ref === 'tool'
      ? { method: shape.callMethod, tool: ref }
      : shape.ref === 'prompt'
        ? { method: shape.callMethod, prompt: ref }
        : { method: shape.callMethod, resource: ref };
  return { jwt: ctx.jwt, mcp, request: ctx.request, source: ctx.source };
}

export function filterList(rules: CompiledRuleSet, req: FilterRequest): FilterResult {
  const message = parseMessage(req.body);
  const result = message?.['result'];
  // Anything but a list result (an error response, another shape) passes through untouched.
  if (message === null || !isJsonObject(result)) return UNCHANGED;
  const list: unknown = result[req.list];
  if (!Array.isArray(list)) return UNCHANGED;
  const items: readonly unknown[] = list;

  const shape = SHAPES[req.list];
  const everyoneAllowed = hasNoRules(rules);
  const tally: ErrorTally = { count: 0 };
  const kept: unknown[] = [];
  withoutStackTraces(() => {
    for (const item of items) {
      if (!isJsonObject(item)) continue;
      const name = item[shape.nameKey];
      if (typeof name !== 'string') continue; // unnamed: cannot be judged, so fail closed
      if (!everyoneAllowed && !evaluateRules(rules, itemContext(req.ctx, shape, name, req.target), tally)) continue;
      // Copy only to rename; otherwise the parsed object is passed on as is.
      kept.push(req.prefix ? { ...item, [shape.nameKey]: `${req.target}${shape.separator}${name}` } : item);
    }
  });

  const removed = items.length - kept.length;
  if (removed === 0 && !req.prefix) return { body: null, kept: kept.length, removed: 0, ruleErrors: tally.count };
  result[req.list] = kept; // our own parse of the body, safe to rewrite in place
  return { body: JSON.stringify(message), kept: kept.length, removed, ruleErrors: tally.count };
}
