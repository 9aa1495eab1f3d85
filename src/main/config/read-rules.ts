// `authorization.rules` and `mcpAuthorization.rules`: each a CEL string (an allow rule) or
// exactly one of `{allow}`, `{deny}`, `{require}`. Each rule is checked here (cel-check.ts).

import { celRuleProblem } from './cel-check.js';
import { type IssueList, type Item, MapReader, isPlainObject } from './schema-reader.js';
import type { RuleConfig, RuleKind, RuleSetConfig } from './types.js';

const KINDS: readonly RuleKind[] = ['allow', 'deny', 'require'];

export function readRuleSet(issues: IssueList, path: string, value: unknown): RuleSetConfig | undefined {
  const m = MapReader.open(issues, path, value, { known: ['rules'] });
  const items = m?.list('rules', true);
  if (items === undefined) return undefined;
  const rules: RuleConfig[] = [];
  for (const item of items) {
    const rule = readRule(issues, item);
    if (rule !== undefined) rules.push(rule);
  }
  return { rules };
}

function readRule(issues: IssueList, item: Item): RuleConfig | undefined {
  if (typeof item.value === 'string') return checked(issues, 'allow', item.value, item.path, item.path);
  if (!isPlainObject(item.value)) {
    issues.add(item.path, 'expected a CEL expression string, or one of {allow: ...}, {deny: ...}, {require: ...}');
    return undefined;
  }
  const m = MapReader.open(issues, item.path, item.value, { known: KINDS });
  const kind = m?.choice(KINDS);
  if (m === undefined || kind === undefined) return undefined;
  const expr = m.string(kind, { required: true });
  return expr === undefined ? undefined : checked(issues, kind, expr, item.path, m.at(kind));
}

function checked(issues: IssueList, kind: RuleKind, expr: string, path: string, exprPath: string): RuleConfig | undefined {
  const problem = celRuleProblem(expr);
  if (problem !== null) {
    issues.add(exprPath, problem);
    return undefined;
  }
  return { kind, expr, path };
}
