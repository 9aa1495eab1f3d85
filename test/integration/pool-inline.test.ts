// Pool and inline give the same decisions: one table of requests (several users' tokens ×
// initialize, lists, allowed and denied calls, DELETE) sent to a gateway with a Piscina pool of two
// workers and to one running the same functions on the main thread (`workers: 0`), both in front
// of the same stateful echo server. Statuses, content types and bodies must match exactly (session
// ids are normalised), and must be the decisions the rules call for.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startEchoServer } from '../../examples/echo-server/server.js';
import type { CleanupHost } from '../helpers/files.js';
import { gatewayYaml, labKeys, LAB_AUDIENCE, LAB_ISSUER, startTestGateway, type LabKeys, type RuleSpec, type TestGateway } from '../helpers/gateway-harness.js';
import { inSeconds } from '../helpers/keys.js';
import { initializeRequest, isRecord, itemNames, mcpFetch, notification, rpc, type McpReply, type RpcRequest } from '../helpers/mcp-http.js';

const cleanup: Array<() => Promise<void>> = [];
const suite: CleanupHost = { after: (fn) => void cleanup.push(fn) };
after(async () => {
  for (const fn of cleanup.reverse()) await fn();
});

const RULES: readonly RuleSpec[] = [
  'mcp.tool.name == "echo" && "admin" in jwt.roles',
  'mcp.prompt.name == "greeting"',
  'mcp.tool.name == "add" && jwt.sub == "jsmith"',
  { deny: 'has(jwt.banned) && jwt.banned == true' },
];

interface Row {
  readonly user: string;
  readonly step: string;
  readonly status: number;
  readonly contentType: string;
  readonly session: 'sealed' | 'none';
  readonly body: string;
}

const REQUESTS: ReadonlyArray<readonly [string, RpcRequest]> = [
  ['tools/list', rpc(2, 'tools/list')],
  ['tools/call echo', rpc(3, 'tools/call', { name: 'echo', arguments: { message: 'hi' } })],
  ['tools/call add', rpc(4, 'tools/call', { name: 'add', arguments: { a: 1, b: 2 } })],
  ['prompts/list', rpc(5, 'prompts/list')],
  ['prompts/get greeting', rpc(6, 'prompts/get', { name: 'greeting', arguments: { name: 'Ann' } })],
  ['resources/list', rpc(7, 'resources/list')],
  ['resources/read', rpc(8, 'resources/read', { uri: 'info://server' })],
];

/** SSE comment lines carry nothing (the gateway sends one to push the headers out when the first
 * event takes a while, which depends on timing), so they are left out of the comparison. */
function withoutSseComments(text: string, contentType: string): string {
  if (!contentType.startsWith('text/event-stream')) return text;
  return text.replace(/^:[^\n]*\n\n?/gm, '');
}

function row(user: string, step: string, reply: McpReply): Row {
  const sid = reply.headers.get('mcp-session-id');
  // How long ago a token expired is counted in whole seconds from now: the two runs may fall
  // either side of a second's boundary.
  const body = withoutSseComments(reply.text, reply.contentType).replace(/expired \d+ s ago/, 'expired N s ago');
  return { user, step, status: reply.status, contentType: reply.contentType, session: sid === null ? 'none' : 'sealed', body };
}

/** Every request of the table for one token, in order, on one session. */
async function transcript(gw: TestGateway, user: string, token: string | undefined): Promise<Row[]> {
  const auth = token === undefined ? {} : { token };
  const rows: Row[] = [];
  const init = await mcpFetch(gw.url, initializeRequest(), auth);
  rows.push(row(user, 'initialize', init));
  const sid = init.headers.get('mcp-session-id') ?? undefined;
  const opts = sid === undefined ? auth : { ...auth, sessionId: sid };
  rows.push(row(user, 'notifications/initialized', await mcpFetch(gw.url, notification('notifications/initialized'), opts)));
  for (const [step, request] of REQUESTS) rows.push(row(user, step, await mcpFetch(gw.url, request, opts)));
  if (sid !== undefined) rows.push(row(user, 'DELETE', await mcpFetch(gw.url, null, { ...opts, method: 'DELETE' })));
  return rows;
}

let keys: LabKeys;
let users: ReadonlyArray<readonly [string, string | undefined]>;
let pool: TestGateway;
let inline: TestGateway;

before(async () => {
  keys = await labKeys(suite);
  const base = { iss: LAB_ISSUER, aud: LAB_AUDIENCE, iat: inSeconds(0), exp: inSeconds(3600) };
  users = [
    ['jsmith', keys.jsmith],
    ['admin', keys.admin],
    ['roles-as-string', await keys.issuer.sign({ ...base, sub: 'dilbert', roles: 'admin' })],
    ['banned-admin', await keys.issuer.sign({ ...base, sub: 'wally', roles: ['admin'], banned: true })],
    ['no-token', undefined],
    ['bad-signature', `${keys.admin.slice(0, -6)}${keys.admin.endsWith('AAAAAA') ? 'BBBBBB' : 'AAAAAA'}`],
    ['expired', await keys.issuer.sign({ ...base, sub: 'jsmith', exp: inSeconds(-3600) })],
  ];
  const echo = await startEchoServer({ port: 0, mode: 'stateful' });
  suite.after(() => echo.close());
  const configText = gatewayYaml({ upstreamUrl: echo.url, rules: RULES });
  pool = await startTestGateway(suite, { cwd: keys.dir, configText, workers: 2 });
  inline = await startTestGateway(suite, { cwd: keys.dir, configText, workers: 0 });
});

test('the gateways run in the modes asked for', () => {
  assert.equal(pool.gateway.workerMode, 'pool');
  assert.equal(inline.gateway.workerMode, 'inline');
});

test('pool and inline answer the whole table identically, with the decisions the rules call for', async () => {
  const fromPool: Row[] = [];
  const fromInline: Row[] = [];
  for (const [user, token] of users) {
    fromPool.push(...(await transcript(pool, user, token)));
    fromInline.push(...(await transcript(inline, user, token)));
  }
  assert.deepEqual(fromPool, fromInline);

  // And what they agree on is right.
  const outcome = (user: string, step: string): string => {
    const r = fromPool.find((x) => x.user === user && x.step === step);
    assert.ok(r !== undefined, `${user} ${step}`);
    if (r.status !== 200) return `HTTP ${r.status}`;
    const m = parseReply(r);
    const error = m['error'];
    if (isRecord(error)) return `error ${String(error['code'])} ${String(error['message'])}`;
    const result = m['result'];
    if (!isRecord(result)) return `?? ${r.body}`;
    for (const key of ['tools', 'prompts', 'resources'] as const) {
      if (key in result) return `${key}: ${itemNames(result, key).join(',')}`;
    }
    const content = result['content'] ?? result['messages'] ?? result['contents'];
    return `ok ${JSON.stringify(content).length > 2 ? 'content' : 'empty'}`;
  };
  const expected: Readonly<Record<string, readonly string[]>> = {
    //                tools/list      call echo                            call add                            prompts/list        get greeting   resources/list  resources/read
    jsmith: ['tools: add', 'error -32602 Unknown tool: echo', 'ok content', 'prompts: greeting', 'ok content', 'resources: ', 'error -32602 Unknown resource: info://server'],
    admin: ['tools: echo', 'ok content', 'error -32602 Unknown tool: add', 'prompts: greeting', 'ok content', 'resources: ', 'error -32602 Unknown resource: info://server'],
    'roles-as-string': ['tools: ', 'error -32602 Unknown tool: echo', 'error -32602 Unknown tool: add', 'prompts: greeting', 'ok content', 'resources: ', 'error -32602 Unknown resource: info://server'],
    'banned-admin': ['tools: ', 'error -32602 Unknown tool: echo', 'error -32602 Unknown tool: add', 'prompts: ', 'error -32602 Unknown prompt: greeting', 'resources: ', 'error -32602 Unknown resource: info://server'],
    'no-token': REQUESTS.map(() => 'HTTP 401'),
    'bad-signature': REQUESTS.map(() => 'HTTP 401'),
    expired: REQUESTS.map(() => 'HTTP 401'),
  };
  for (const [user, wanted] of Object.entries(expected)) {
    assert.deepEqual(REQUESTS.map(([step]) => outcome(user, step)), wanted, user);
  }
  for (const user of ['no-token', 'bad-signature', 'expired']) {
    const init = fromPool.find((x) => x.user === user && x.step === 'initialize')!;
    assert.equal(init.status, 401);
    assert.match(init.body, /^authentication failure: /);
  }
});

function parseReply(r: Row): Record<string, unknown> {
  if (r.contentType.startsWith('application/json')) {
    const v: unknown = JSON.parse(r.body);
    if (isRecord(v)) return v;
  }
  const data = r.body
    .split('\n')
    .filter((l) => l.startsWith('data:'))
    .map((l) => l.slice(5).trim());
  const last = data.at(-1);
  const v: unknown = last === undefined ? null : JSON.parse(last);
  if (!isRecord(v)) throw new Error(`not a JSON-RPC reply: ${r.body}`);
  return v;
}
