// The parse-based list filter (JSON.parse the message, filter the array, JSON.stringify it back)
// that src/workers/filter-list.ts replaced at commit 9c7cfc6. Kept as the reference: the
// differential test checks the text-scanning filter answers exactly what this one did, and
// filter-micro.ts measures one against the other.

import type { FilterResult } from '../src/protocol/worker-contract.js';
import { hasNoRules, type CompiledRuleSet } from '../src/workers/cel/compile.js';
import { evaluateRules, withoutStackTraces, type ErrorTally } from '../src/workers/cel/decide.js';
import { SHAPES, itemContext, type FilterRequest } from '../src/workers/filter-list.js';
import { isJsonObject, type JsonObject } from '../src/workers/jwt/decode.js';

const UNCHANGED: FilterResult = { body: null, kept: 0, removed: 0, ruleErrors: 0 };
function parseMessage(body: string): JsonObject | null {
  try {
    const value: unknown = JSON.parse(body);
    return isJsonObject(value) ? value : null;
  } catch {
    return null;
  }
}
export function parseBasedFilterList(rules: CompiledRuleSet, req: FilterRequest): FilterResult {
  const message = parseMessage(req.body);
  const result = message?.['result'];
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
      if (typeof name !== 'string') continue;
      if (!everyoneAllowed && !evaluateRules(rules, itemContext(req.ctx, shape, name, req.target), tally)) continue;
      kept.push(req.prefix ? { ...item, [shape.nameKey]: `${req.target}${shape.separator}${name}` } : item);
    }
  });
  const removed = items.length - kept.length;
  if (removed === 0 && !req.prefix) return { body: null, kept: kept.length, removed: 0, ruleErrors: tally.count };
  result[req.list] = kept;
  return { body: JSON.stringify(message), kept: kept.length, removed, ruleErrors: tally.count };
}

