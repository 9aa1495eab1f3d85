// /metrics as Prometheus reads it: the whole exposition parsed by a strict text-format parser,
// the tool-call counter's bounded labels (a tool some rule names keeps its name, any other is
// `other`) and outcomes, the latency histogram per route, target and method, the process's own
// figures, and one registry per gateway (two in one process count apart).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { stringify } from 'yaml';
import { freePort } from '../helpers/ports.js';
import { LAB_AUDIENCE, LAB_ISSUER, labKeys, startTestGateway } from '../helpers/gateway-harness.js';
import { initializeRequest, mcpFetch, rpc } from '../helpers/mcp-http.js';
import { parseExposition, sampleValue, type Family } from '../helpers/prometheus-text.js';
import { startRecordingUpstream } from '../helpers/recording-upstream.js';
import { DEFAULT_BUFFER_BUDGET_BYTES } from '../../src/main/config/read-runtime.js';

async function scrape(port: number | null): Promise<Map<string, Family>> {
  assert.ok(port !== null);
  const res = await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { connection: 'close' } });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return parseExposition(await res.text());
}

function route(name: string, url: string, target: string, policies: Record<string, unknown>): Record<string, unknown> {
  return { name, policies, backends: [{ mcp: { targets: [{ name: target, mcp: { host: url } }] } }] };
}

test('/metrics parses strictly; tool calls count under the names rules give, outcomes and latency per route, target and method', async (t) => {
  const keys = await labKeys(t);
  const up = await startRecordingUpstream();
  t.after(() => up.close());
  const jwtAuth = { mode: 'strict', issuer: LAB_ISSUER, audiences: [LAB_AUDIENCE], jwks: { file: './jwks-keyset' } };
  const rules = [
    'mcp.tool.name == "echo"',
    'mcp.tool.name.startsWith("safe_")',
    'mcp.tool.name in ["add", "sum"] && "admin" in jwt.roles',
    { deny: 'mcp.tool.name == "rm"' },
  ];
  // nothing listens where `broken` leads: its calls fail
  const broken = { ...route('broken', `http://127.0.0.1:${await freePort()}/mcp`, 'gone', {}), matches: [{ path: { pathPrefix: '/broken' } }] };
  const configText = stringify({ binds: [{ port: 0, listeners: [{ routes: [broken, route('tools', up.url, 'mcp', { jwtAuth, mcpAuthorization: { rules } })] }] }] });
  const gw = await startTestGateway(t, { cwd: keys.dir, configText, statsAddr: '127.0.0.1:0' });
  const tools = gw.url;
  const call = (id: number, name: string, url = tools) => mcpFetch(url, rpc(id, 'tools/call', { name, arguments: {} }), { token: keys.admin });

  assert.equal((await mcpFetch(tools, initializeRequest())).status, 401);
  assert.equal((await mcpFetch(tools, initializeRequest(), { token: keys.admin })).status, 200);
  assert.equal((await mcpFetch(tools, rpc(2, 'tools/list'), { token: keys.admin })).status, 200);
  await call(3, 'echo'); // named, allowed
  await call(4, 'safe_copy'); // allowed, named by no rule
  await call(5, 'add'); // named, allowed
  await call(6, 'rm'); // named, denied
  await call(7, 'format_disk'); // named by no rule, denied
  assert.equal((await call(8, 'echo', `http://127.0.0.1:${gw.gateway.port}/broken`)).status, 502);

  const families = await scrape(gw.gateway.opsPorts.stats);
  const toolCalls = (r: string, target: string, tool: string, outcome: string): number | undefined =>
    sampleValue(families, 'portcullis_mcp_tool_calls_total', { route: r, target, tool, outcome });
  assert.equal(toolCalls('tools', 'mcp', 'echo', 'allowed'), 1);
  assert.equal(toolCalls('tools', 'mcp', 'add', 'allowed'), 1);
  assert.equal(toolCalls('tools', 'mcp', 'other', 'allowed'), 1);
  assert.equal(toolCalls('tools', 'mcp', 'rm', 'denied'), 1);
  assert.equal(toolCalls('tools', 'mcp', 'other', 'denied'), 1);
  assert.equal(toolCalls('broken', 'gone', 'other', 'error'), 1);
  const toolLabels = new Set(families.get('portcullis_mcp_tool_calls_total')?.samples.map((s) => s.labels.get('tool')));
  assert.deepEqual([...toolLabels].sort(), ['add', 'echo', 'other', 'rm'], 'no tool name a rule does not name');

  const mcpCount = (r: string, target: string, method: string): number | undefined =>
    sampleValue(families, 'portcullis_mcp_request_duration_seconds_count', { route: r, target, method });
  assert.equal(mcpCount('tools', 'mcp', 'initialize'), 1);
  assert.equal(mcpCount('tools', 'mcp', 'tools/list'), 1);
  assert.equal(mcpCount('tools', 'mcp', 'tools/call'), 5);
  assert.equal(mcpCount('broken', 'gone', 'tools/call'), 1);
  assert.equal(families.get('portcullis_mcp_request_duration_seconds')?.type, 'histogram');
  assert.equal(sampleValue(families, 'portcullis_requests_total', { route: 'tools', status: '401' }), 1);
  assert.equal(sampleValue(families, 'portcullis_requests_total', { route: 'broken', status: '502' }), 1);
  assert.equal(sampleValue(families, 'portcullis_request_duration_seconds_count'), 9);
  assert.equal(sampleValue(families, 'portcullis_mcp_denied_total', { type: 'tool' }), 2);
  assert.equal(sampleValue(families, 'portcullis_buffer_budget_bytes'), DEFAULT_BUFFER_BUDGET_BYTES);
  assert.equal(sampleValue(families, 'portcullis_build_info'), 1);

  // the process's own figures, under prom-client's default names
  for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'process_start_time_seconds', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_seconds', 'nodejs_eventloop_lag_p99_seconds']) {
    const v = sampleValue(families, name);
    assert.ok(v !== undefined && v >= 0, `${name} = ${v}`);
  }
  assert.equal(families.get('nodejs_gc_duration_seconds')?.type, 'histogram');
  assert.ok((sampleValue(families, 'process_cpu_seconds_total') ?? 0) > 0);

  // A second gateway in this process has a registry of its own.
  const other = await startTestGateway(t, { cwd: keys.dir, configText: stringify({ binds: [{ port: 0, listeners: [{ routes: [route('tools', up.url, 'mcp', {})] }] }] }), statsAddr: '127.0.0.1:0' });
  await mcpFetch(other.url, rpc(1, 'tools/call', { name: 'echo', arguments: {} }));
  const theirs = await scrape(other.gateway.opsPorts.stats);
  assert.equal(sampleValue(theirs, 'portcullis_mcp_tool_calls_total', { route: 'tools', tool: 'other', outcome: 'allowed' }), 1);
  assert.equal(sampleValue(theirs, 'portcullis_mcp_tool_calls_total', { tool: 'echo' }), undefined);
  assert.equal(sampleValue(theirs, 'portcullis_request_duration_seconds_count'), 1);
  assert.equal(sampleValue(await scrape(gw.gateway.opsPorts.stats), 'portcullis_request_duration_seconds_count'), 9);
});

test('liveness answers while readiness waits for a key set that does not load', async (t) => {
  const jwks = { url: `http://127.0.0.1:${await freePort()}/jwks` };
  const jwtAuth = { mode: 'strict', issuer: LAB_ISSUER, audiences: [LAB_AUDIENCE], jwks };
  const configText = stringify({ binds: [{ port: 0, listeners: [{ routes: [route('tools', 'http://127.0.0.1:1/mcp', 'mcp', { jwtAuth })] }] }] });
  const gw = await startTestGateway(t, { configText, readinessAddr: '127.0.0.1:0' });
  const get = (path: string) => fetch(`http://127.0.0.1:${gw.gateway.opsPorts.readiness}${path}`, { headers: { connection: 'close' } });
  const ready = await get('/healthz/ready');
  assert.deepEqual([ready.status, await ready.text()], [503, 'not ready, pending: jwks\n']);
  const live = await get('/healthz/live');
  assert.deepEqual([live.status, await live.text()], [200, 'live\n']);
});
