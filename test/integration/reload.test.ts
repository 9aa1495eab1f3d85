// Reload on file change (agentgateway's state_manager behaviour): a changed config applies to new
// sessions once `Config reloaded successfully` is logged; a bad one logs `Failed to reload
// config` and the old rules stay in force.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { startEchoServer, type EchoServer } from '../../examples/echo-server/server.js';
import type { CleanupHost } from '../helpers/files.js';
import { gatewayYaml, labKeys, startTestGateway, type LabKeys, type TestGateway } from '../helpers/gateway-harness.js';
import { connectClient } from '../helpers/sdk-client.js';

const cleanup: Array<() => Promise<void>> = [];
const suite: CleanupHost = { after: (fn) => void cleanup.push(fn) };
after(async () => {
  for (const fn of cleanup.reverse()) await fn();
});

const CONFIG = 'gateway.yaml';
let keys: LabKeys;
let echo: EchoServer;
let gw: TestGateway;

function configAllowing(tool: string): string {
  return gatewayYaml({ upstreamUrl: echo.url, rules: [`mcp.tool.name == "${tool}"`] });
}

/** Writes the config file and waits for the reload's outcome line. */
async function rewrite(text: string, outcome: RegExp): Promise<string> {
  const from = gw.log.lines.length;
  await writeFile(join(keys.dir, CONFIG), text);
  return gw.log.waitFor(outcome, { fromLine: from, timeoutMs: 10_000 });
}

/** What a new session sees: its tools, and whether each of echo/add can be called. */
async function newSession(): Promise<{ tools: string[]; callable: string[] }> {
  const c = await connectClient(gw.url, keys.jsmith, { headers: { connection: 'close' } });
  try {
    const tools = (await c.client.listTools()).tools.map((t) => t.name).sort();
    const callable: string[] = [];
    for (const [name, args] of [['add', { a: 1, b: 2 }], ['echo', { message: 'hi' }]] as const) {
      try {
        await c.client.callTool({ name, arguments: args });
        callable.push(name);
      } catch (err) {
        assert.ok(err instanceof McpError && err.code === -32602, `unexpected error: ${String(err)}`);
      }
    }
    return { tools, callable };
  } finally {
    await c.close();
  }
}

before(async () => {
  keys = await labKeys(suite);
  echo = await startEchoServer({ port: 0, mode: 'stateful' });
  suite.after(() => echo.close());
  await writeFile(join(keys.dir, CONFIG), configAllowing('echo'));
  gw = await startTestGateway(suite, { cwd: keys.dir, configFile: CONFIG });
  await gw.log.waitFor(/Watching config file/);
});

test('at start the file allows echo', async () => {
  assert.deepEqual(await newSession(), { tools: ['echo'], callable: ['echo'] });
});

test('rewriting the file to allow add instead: after the reload a new session sees the new rules', async () => {
  await rewrite(configAllowing('add'), /Config reloaded successfully/);
  assert.deepEqual(await newSession(), { tools: ['add'], callable: ['add'] });
});

test('invalid YAML: "Failed to reload config" and the old rules still apply', async () => {
  const line = await rewrite('binds: [\n  - port: 0\n', /Failed to reload config|Config reloaded successfully/);
  assert.match(line, /Failed to reload config/);
  assert.deepEqual(await newSession(), { tools: ['add'], callable: ['add'] });
});

test('a CEL syntax error: "Failed to reload config" naming the rule, and the old rules still apply', async () => {
  const bad = gatewayYaml({ upstreamUrl: echo.url, rules: ['mcp.tool.name == '] });
  const line = await rewrite(bad, /Failed to reload config|Config reloaded successfully/);
  assert.match(line, /Failed to reload config.*mcpAuthorization\.rules\[0\].*invalid CEL expression/);
  assert.deepEqual(await newSession(), { tools: ['add'], callable: ['add'] });
});

test('a good file after the bad ones is picked up again', async () => {
  await rewrite(configAllowing('echo'), /Config reloaded successfully/);
  assert.deepEqual(await newSession(), { tools: ['echo'], callable: ['echo'] });
});
