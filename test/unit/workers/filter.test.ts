import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPolicyEngine } from '../../../src/workers/engine.js';
import type { CelContext, FilterResult, ListKind, RuleInit } from '../../../src/protocol/worker-contract.js';

const ctx: CelContext = {
  jwt: { sub: 'alice', roles: ['admin'] },
  mcp: null,
  request: { method: 'POST', path: '/mcp', host: 'localhost', headers: {} },
  source: null,
};

function filterer(rules: readonly RuleInit[]) {
  const engine = createPolicyEngine({ generation: 1, providerSets: [], ruleSets: [{ id: 1, rules }], listCacheChars: 1 << 20 });
  return (list: ListKind, body: string, prefix = false, c: CelContext = ctx): FilterResult => {
    const { resultSpan, ...result } = engine.run({ op: 'filter', ruleSet: 1, ctx: c, list, target: 'mcp', prefix, body });
    // the span the main thread remembers a filtered list by is the message's `result` object
    if (resultSpan !== undefined) assert.ok(body[resultSpan[0]] === '{' && body[resultSpan[1] - 1] === '}', `${resultSpan.join(',')} in ${body}`);
    return result;
  };
}

const LAB = [{ kind: 'allow', expr: 'mcp.tool.name == "echo" && "admin" in jwt.roles' }] as const;

const tools = [
  { name: 'echo', description: 'Echoes', inputSchema: { type: 'object', properties: { text: { type: 'string' } } } },
  { name: 'add', inputSchema: { type: 'object' } },
  { name: 'rm', inputSchema: { type: 'object' } },
];
const toolsBody = JSON.stringify({ jsonrpc: '2.0', id: 4, result: { tools, nextCursor: 'c2' } });

function parse(body: string | null): { id: unknown; jsonrpc: unknown; result: Record<string, unknown> } {
  assert.ok(body !== null);
  return JSON.parse(body);
}

test('tools/list is filtered per item; kept items and the rest of the message are unchanged', () => {
  const r = filterer(LAB)('tools', toolsBody);
  assert.equal(r.kept, 1);
  assert.equal(r.removed, 2);
  assert.equal(r.ruleErrors, 0);
  const msg = parse(r.body);
  assert.equal(msg.id, 4);
  assert.equal(msg.jsonrpc, '2.0');
  assert.equal(msg.result['nextCursor'], 'c2');
  assert.deepEqual(msg.result['tools'], [tools[0]]);
});

test('without roles every item is removed, errors counted per item', () => {
  const r = filterer(LAB)('tools', toolsBody, false, { ...ctx, jwt: { sub: 'bob' } });
  assert.deepEqual(parse(r.body).result['tools'], []);
  // `mcp.tool.name == "echo"` is false for add and rm, which absorbs the error there
  assert.deepEqual({ kept: r.kept, removed: r.removed, ruleErrors: r.ruleErrors }, { kept: 0, removed: 3, ruleErrors: 1 });
});

test('items are judged as calls: mcp.method is the call method', () => {
  const byMethod = filterer([{ kind: 'allow', expr: 'mcp.method == "tools/call" && mcp.tool.target == "mcp"' }]);
  assert.deepEqual(byMethod('tools', toolsBody), { body: null, kept: 3, removed: 0, ruleErrors: 0 });
  const prompts = JSON.stringify({ jsonrpc: '2.0', id: 1, result: { prompts: [{ name: 'greet' }] } });
  const promptRule = filterer([{ kind: 'allow', expr: 'mcp.method == "prompts/get" && mcp.prompt.name == "greet"' }]);
  assert.deepEqual(promptRule('prompts', prompts), { body: null, kept: 1, removed: 0, ruleErrors: 0 });
  // a tool rule errors on a prompt (mcp.tool is absent), so the prompt is hidden
  const r = filterer(LAB)('prompts', prompts);
  assert.deepEqual({ kept: r.kept, removed: r.removed, ruleErrors: r.ruleErrors }, { kept: 0, removed: 1, ruleErrors: 1 });
});

test('nothing removed and no prefix → body null (send the original bytes)', () => {
  assert.deepEqual(filterer([])('tools', toolsBody), { body: null, kept: 3, removed: 0, ruleErrors: 0 });
});

test('prefix renames kept tools and prompts <target>_<name>, leaving the originals alone', () => {
  const r = filterer([])('tools', toolsBody, true);
  assert.equal(r.removed, 0);
  const listed = parse(r.body).result['tools'];
  assert.deepEqual(
    listed,
    tools.map((t) => ({ ...t, name: `mcp_${t.name}` })),
  );
  const p = filterer(LAB)('tools', toolsBody, true);
  assert.deepEqual(parse(p.body).result['tools'], [{ ...tools[0], name: 'mcp_echo' }]);
  const prompts = JSON.stringify({ jsonrpc: '2.0', id: 1, result: { prompts: [{ name: 'greet', arguments: [] }] } });
  assert.deepEqual(parse(filterer([])('prompts', prompts, true).body).result['prompts'], [{ name: 'mcp_greet', arguments: [] }]);
});

test('resources by uri and templates by uriTemplate, prefixed <target>+<uri>', () => {
  const rule = filterer([{ kind: 'allow', expr: 'mcp.method == "resources/read" && mcp.resource.name.startsWith("file:///public/")' }]);
  const resources = JSON.stringify({
    jsonrpc: '2.0',
    id: 2,
    result: { resources: [{ uri: 'file:///public/a.txt', name: 'a' }, { uri: 'file:///secret/b.txt', name: 'b' }] },
  });
  const r = rule('resources', resources, true);
  assert.deepEqual(parse(r.body).result['resources'], [{ uri: 'mcp+file:///public/a.txt', name: 'a' }]);
  assert.deepEqual([r.kept, r.removed], [1, 1]);

  const templates = JSON.stringify({
    jsonrpc: '2.0',
    id: 3,
    result: { resourceTemplates: [{ uriTemplate: 'file:///public/{name}', name: 'pub' }, { uriTemplate: 'db://{table}', name: 'db' }] },
  });
  const t = rule('resourceTemplates', templates);
  assert.deepEqual(parse(t.body).result['resourceTemplates'], [{ uriTemplate: 'file:///public/{name}', name: 'pub' }]);
  const tp = rule('resourceTemplates', templates, true);
  assert.deepEqual(parse(tp.body).result['resourceTemplates'], [{ uriTemplate: 'mcp+file:///public/{name}', name: 'pub' }]);
});

test('an error response or another shape passes through unchanged; non-JSON is refused', () => {
  const f = filterer(LAB);
  const unchanged = { body: null, kept: 0, removed: 0, ruleErrors: 0 };
  assert.deepEqual(f('tools', JSON.stringify({ jsonrpc: '2.0', id: 1, error: { code: -32601, message: 'nope' } })), unchanged);
  assert.deepEqual(f('tools', JSON.stringify({ jsonrpc: '2.0', id: 1, result: { prompts: [] } })), unchanged);
  assert.deepEqual(f('tools', JSON.stringify({ jsonrpc: '2.0', id: 1, result: { tools: {} } })), unchanged);
  assert.deepEqual(f('tools', JSON.stringify(7)), unchanged);
  // Text that is not JSON might still be read as a list by a lenient client: never passed on.
  const refused = { jsonrpc: '2.0', id: null, error: { code: -32603, message: 'upstream answer could not be filtered' } };
  assert.deepEqual(parse(f('tools', 'data: {').body), refused);
  // Nor a batch (it may hold a list), nor another kind's items beside the list asked for.
  assert.deepEqual(parse(f('tools', JSON.stringify([1, 2])).body), refused);
  assert.deepEqual(parse(f('tools', JSON.stringify({ jsonrpc: '2.0', id: 1, result: { tools: [], prompts: [{ name: 'p' }] } })).body), { ...refused, id: 1 });
});

test('items without a string name are dropped (fail closed), even with no rules', () => {
  const body = JSON.stringify({ jsonrpc: '2.0', id: 1, result: { tools: [{ name: 'ok' }, { title: 'x' }, { name: 7 }, 'str', null] } });
  const r = filterer([])('tools', body);
  assert.deepEqual(parse(r.body).result['tools'], [{ name: 'ok' }]);
  assert.deepEqual([r.kept, r.removed], [1, 4]);
  const res = JSON.stringify({ jsonrpc: '2.0', id: 1, result: { resources: [{ name: 'no uri' }, { uri: 'x://y' }] } });
  assert.deepEqual(parse(filterer([])('resources', res).body).result['resources'], [{ uri: 'x://y' }]);
});

test('filter restores Error.stackTraceLimit', () => {
  const saved = Error.stackTraceLimit;
  try {
    Error.stackTraceLimit = 23;
    filterer(LAB)('tools', toolsBody, false, { ...ctx, jwt: null });
    assert.equal(Error.stackTraceLimit, 23);
  } finally {
    Error.stackTraceLimit = saved;
  }
});
