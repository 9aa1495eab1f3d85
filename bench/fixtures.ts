// Fixed MCP payloads shared by the stub upstream and the runner: request bodies the load
// generator sends, and the answers the stub gives. No I/O.
//
// Tool names alternate `read_<i>` / `write_<i>` (with `echo` first), so the bench rule
// `!mcp.tool.name.startsWith("write_")` keeps exactly half of every list (+ echo).

export const PROTOCOL_VERSION = '2025-11-25';

/** One tool with a realistic JSON-schema input (≈ 430 B of JSON each, 20 ≈ 8.6 KB). */
function tool(i: number): Record<string, unknown> {
  const name = i === 0 ? 'echo' : `${i % 2 === 0 ? 'read' : 'write'}_${i}`;
  return {
    name,
    title: `Bench tool ${i}`,
    description: `Bench tool ${i}: answers every call with the same text.`,
    inputSchema: {
      type: 'object',
      properties: {
        message: { type: 'string', description: 'Text echoed back by the tool' },
        count: { type: 'integer', minimum: 1, maximum: 100, description: 'How many times' },
        verbose: { type: 'boolean', description: 'Return extra detail' },
      },
      required: ['message'],
      additionalProperties: false,
    },
  };
}

export function tools(n: number): Array<Record<string, unknown>> {
  return Array.from({ length: n }, (_, i) => tool(i));
}

/** The `result` member of a tools/list answer with n tools. */
export function toolsListResult(n: number): string {
  return JSON.stringify({ tools: tools(n) });
}

export const CALL_RESULT = JSON.stringify({ content: [{ type: 'text', text: 'hi' }], isError: false });

export const INITIALIZE_RESULT = JSON.stringify({
  protocolVersion: PROTOCOL_VERSION,
  capabilities: { tools: { listChanged: false } },
  serverInfo: { name: 'portcullis-bench-stub', version: '1.0.0' },
});

/** Request bodies the load generator sends. */
export const BODIES = {
  call: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { message: 'hi' } } }),
  list: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list', params: {} }),
} as const;

/** The bench's allow rule: about half of every list (echo and read_*), and the echo call. */
export const ALLOW_RULE = 'jwt.sub == "bench" && !mcp.tool.name.startsWith("write_")';

/** n rules where all n are evaluated for every item: n-1 deny rules that are false, then ALLOW_RULE. */
export function ruleSet(n: number): Array<string | { deny: string }> {
  const out: Array<string | { deny: string }> = [];
  for (let i = 1; i < n; i++) out.push({ deny: `jwt.sub == "blocked_${i}"` });
  out.push(ALLOW_RULE);
  return out;
}
