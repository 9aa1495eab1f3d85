// Whether a rule's value can change from item to item of one list. A list's items are judged in
// contexts that differ only in `mcp` (filter-list.ts, itemContext), so a rule that never reads
// `mcp` has one value for the whole list. Found on the AST once, when the rule compiles.
//
// Not done: evaluating once per list the token-only half of a rule like the lab's
// (`mcp.tool.name == "echo" && "admin" in jwt.roles`), to skip the rule for every item when that
// half is false. For a token without `roles` that half fails, and a failing evaluation (cel-js
// throws) costs more than the per-item evaluations it was meant to save, which stop at the
// cheap `mcp` half (bench/filter-micro.ts compares the two).
import type { ASTNode } from '@marcbachmann/cel-js';

function isAstNode(value: unknown): value is ASTNode {
  return typeof value === 'object' && value !== null && 'op' in value && 'args' in value && typeof value.op === 'string';
}

/** Whether any identifier `name` occurs in the tree. Identifiers are the only way CEL reads a
 * variable; one bound by a macro (`exists(mcp, …)`) counts too: that loses a shortcut, where the
 * opposite mistake would give every item the first item's answer. */
export function readsVariable(node: unknown, name: string): boolean {
  if (Array.isArray(node)) return node.some((n) => readsVariable(n, name));
  if (!isAstNode(node)) return false; // a field or function name, a literal's payload
  if (node.op === 'id') return node.args === name;
  if (node.op === 'value') return false;
  return readsVariable(node.args, name);
}
