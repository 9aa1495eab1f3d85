// Which tool names may label a route's tool-call metric: those its mcpAuthorization rules name in
// a string literal (`mcp.tool.name == "echo"`, `mcp.tool.name in ["a", "b"]`). A call of any
// other tool counts as `other`, so the series stay as many as the config names, whatever tools
// upstreams list or callers ask for.

import { compileCel, type ASTNode } from '../../protocol/cel-environment.js';
import type { RuleSetConfig } from '../config/types.js';

function isNode(value: unknown): value is ASTNode {
  return typeof value === 'object' && value !== null && 'op' in value && 'args' in value;
}

/** `x.key`, `x.?key`, `x["key"]`: what holds the member and its name. */
function member(node: ASTNode): { readonly holder: unknown; readonly key: string | null } | null {
  const args: unknown = node.args;
  if (!Array.isArray(args)) return null;
  if (node.op === '.' || node.op === '.?') return { holder: args[0], key: typeof args[1] === 'string' ? args[1] : null };
  if (node.op === '[]' || node.op === '[?]') return { holder: args[0], key: literal(args[1]) };
  return null;
}

/** `mcp.tool.name`, however it is written. */
function isToolName(node: ASTNode): boolean {
  const name = member(node);
  if (name?.key !== 'name' || !isNode(name.holder)) return false;
  const tool = member(name.holder);
  return tool?.key === 'tool' && isNode(tool.holder) && tool.holder.op === 'id' && tool.holder.args === 'mcp';
}

function literal(node: unknown): string | null {
  return isNode(node) && node.op === 'value' && typeof node.args === 'string' ? node.args : null;
}

function* children(node: ASTNode): Generator<ASTNode> {
  const args: unknown = node.args;
  if (node.op === 'value' || !Array.isArray(args)) return;
  for (const a of args) {
    if (isNode(a)) yield a;
    else if (Array.isArray(a)) for (const b of a) if (isNode(b)) yield b;
  }
}

function collect(node: ASTNode, out: Set<string>): void {
  const args: unknown = node.args;
  const [left, right]: readonly unknown[] = Array.isArray(args) ? args : [];
  if ((node.op === '==' || node.op === '!=') && isNode(left) && isNode(right)) {
    const named = isToolName(left) ? literal(right) : isToolName(right) ? literal(left) : null;
    if (named !== null) out.add(named);
  }
  const items: unknown = isNode(right) && right.op === 'list' ? right.args : null;
  if (node.op === 'in' && isNode(left) && isToolName(left) && Array.isArray(items)) {
    for (const item of items) {
      const named = literal(item);
      if (named !== null) out.add(named);
    }
  }
  for (const child of children(node)) collect(child, out);
}

/** The tool names the rules compare `mcp.tool.name` with; empty without rules. */
export function ruleToolNames(rules: RuleSetConfig | null): ReadonlySet<string> {
  const out = new Set<string>();
  for (const rule of rules?.rules ?? []) {
    try {
      collect(compileCel(rule.expr).ast, out);
    } catch {
      // The loader has checked every rule: one that no longer parses names nothing.
    }
  }
  return out;
}
