// The parse-based list filter (JSON.parse the message, filter the array, JSON.stringify it back)
// that src/workers/filter-list.ts replaced at commit 9c7cfc6. Kept as the reference: the
// differential test checks the text-scanning filter answers exactly what this one does, and
// filter-micro.ts measures one against the other. Since, both refuse a batch and another
// kind's items beside the list asked for (the text filter at the first such member it meets,
// so the rule errors counted by then are those of the list if it came first).

import type { FilterResult } from '../src/protocol/worker-contract.js';
import { hasNoRules, type CompiledRuleSet } from '../src/workers/cel/compile.js';
import { evaluateRules, withoutStackTraces, type ErrorTally } from '../src/workers/cel/decide.js';
import { SHAPES, itemContext, type FilterRequest } from '../src/workers/filter-list.js';
import { isJsonObject, type JsonObject } from '../src/workers/jwt/decode.js';

const UNCHANGED: FilterResult = { body: null, kept: 0, removed: 0, ruleErrors: 0 };
const KINDS = ['tools', 'prompts', 'resources', 'resourceTemplates'] as const;

function parseMessage(body: string): JsonObject | 'batch' | null {
  try {
    const value: unknown = JSON.parse(body);
    return Array.isArray(value) ? 'batch' : isJsonObject(value) ? value : null;
  } catch {
    return null;
  }
}

function refused(id: unknown, ruleErrors: number): FilterResult {
  const validId = typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id)) ? id : null;
  const body = JSON.stringify({ jsonrpc: '2.0', id: validId, error: { code: -32603, message: 'upstream answer could not be filtered' } });
  return { body, kept: 0, removed: 0, ruleErrors };
}

export function parseBasedFilterList(rules: CompiledRuleSet, req: FilterRequest): FilterResult {
  const message = parseMessage(req.body);
  if (message === 'batch') return refused(null, 0);
  const result = message?.['result'];
  if (message === null || !isJsonObject(result)) return UNCHANGED;
  const keys = Object.keys(result);
  const other = keys.findIndex((k) => k !== req.list && KINDS.some((kind) => kind === k) && Array.isArray(result[k]) && result[k].length > 0);
  if (other >= 0) {
    const at = keys.indexOf(req.list);
    const first = at >= 0 && at < other ? parseBasedFilterList(rules, { ...req, body: JSON.stringify({ result: { [req.list]: result[req.list] } }) }) : UNCHANGED;
    return refused(message['id'], first.ruleErrors);
  }
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

