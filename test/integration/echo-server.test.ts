// The example upstream in each transport mode, reached by the SDK client and by the real
// inspector CLI; and run as a script, as the lab runs `uv run main.py`.
import assert from 'node:assert/strict';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ECHO_SERVER_MODES, startEchoServer } from '../../examples/echo-server/server.js';
import { repoRoot } from '../helpers/files.js';
import { runInspector } from '../helpers/inspector.js';
import { startJwksServer } from '../helpers/jwks-server.js';
import { inSeconds, makeIssuer } from '../helpers/keys.js';
import { spawnAndWait } from '../helpers/process.js';
import { connectClient } from '../helpers/sdk-client.js';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';

const MCP_ACCEPT = { accept: 'application/json, text/event-stream', 'content-type': 'application/json' };

function textOf(result: unknown): string {
  if (typeof result !== 'object' || result === null || !('content' in result) || !Array.isArray(result.content)) {
    assert.fail(`not a tool result: ${JSON.stringify(result)}`);
  }
  const first: unknown = result.content[0];
  if (typeof first !== 'object' || first === null || !('text' in first) || typeof first.text !== 'string') {
    assert.fail(`no text content: ${JSON.stringify(result)}`);
  }
  return first.text;
}

async function exerciseEverything(client: Client): Promise<void> {
  assert.deepEqual((await client.listTools()).tools.map((t) => t.name), ['echo', 'add']);
  assert.equal(textOf(await client.callTool({ name: 'echo', arguments: { message: 'hi' } })), 'Echo: hi');
  assert.equal(textOf(await client.callTool({ name: 'add', arguments: { a: 2, b: 40 } })), '42');
  assert.deepEqual((await client.listPrompts()).prompts.map((p) => p.name), ['greeting']);
  const prompt = await client.getPrompt({ name: 'greeting', arguments: { name: 'Ada' } });
  assert.match(JSON.stringify(prompt.messages), /Ada/);
  assert.deepEqual((await client.listResources()).resources.map((r) => r.uri), ['info://server']);
  const read = await client.readResource({ uri: 'info://server' });
  assert.match(JSON.stringify(read.contents), /echo-server/);
}

for (const mode of ECHO_SERVER_MODES) {
  test(`echo server (${mode}): tools, prompts and resources through the SDK client`, async (t) => {
    const server = await startEchoServer({ port: 0, mode });
    t.after(() => server.close());
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/mcp$/);

    const { client, transport, close } = await connectClient(server.url);
    t.after(close);
    assert.equal(transport.sessionId !== undefined, mode === 'stateful');
    await exerciseEverything(client);

    if (mode === 'stateful') {
      const unknown = await fetch(server.url, {
        method: 'POST',
        headers: { ...MCP_ACCEPT, 'mcp-session-id': 'no-such-session' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
      });
      assert.equal(unknown.status, 404);
      assert.deepEqual(await unknown.json(), { jsonrpc: '2.0', id: null, error: { code: -32001, message: 'Session not found' } });
      const noSession = await fetch(server.url, { headers: { accept: 'text/event-stream' } });
      assert.equal(noSession.status, 400);
      await noSession.body?.cancel();
    } else {
      for (const method of ['GET', 'DELETE']) {
        const res = await fetch(server.url, { method, headers: { accept: 'text/event-stream' } });
        assert.equal(res.status, 405, method);
        assert.equal(res.headers.get('allow'), 'POST');
        await res.body?.cancel();
      }
    }
  });
}

test('echo server: a stateful session ends with DELETE; close() ends open sessions', async (t) => {
  const server = await startEchoServer({ port: 0 });
  t.after(() => server.close());
  const a = await connectClient(server.url);
  const sid = a.transport.sessionId;
  assert.ok(sid);
  await a.transport.terminateSession();
  const after = await fetch(server.url, { headers: { accept: 'text/event-stream', 'mcp-session-id': sid } });
  assert.equal(after.status, 404);
  await after.body?.cancel();
  await a.close();

  // An open session (with its GET stream) must not keep close() waiting.
  const b = await connectClient(server.url);
  t.after(b.close);
  await server.close();
  await assert.rejects(fetch(server.url));
});

test('echo server on localhost answers on both loopback addresses', async (t) => {
  const server = await startEchoServer({ port: 0, host: 'localhost' });
  t.after(() => server.close());
  assert.equal(server.url, `http://localhost:${server.port}/mcp`);
  const hasV6Loopback = Object.values(networkInterfaces()).some((addrs) => addrs?.some((a) => a.address === '::1'));
  for (const host of hasV6Loopback ? ['127.0.0.1', '[::1]'] : ['127.0.0.1']) {
    const { client, close } = await connectClient(`http://${host}:${server.port}/mcp`);
    assert.equal(textOf(await client.callTool({ name: 'echo', arguments: { message: host } })), `Echo: ${host}`);
    await close();
  }
});

test('the inspector CLI lists the echo server tools', async (t) => {
  const server = await startEchoServer({ port: 0 });
  t.after(() => server.close());
  const result = await runInspector(server.url, ['--method', 'tools/list']);
  assert.equal(result.code, 0, result.stderr);
  const listed: unknown = JSON.parse(result.stdout);
  assert.ok(typeof listed === 'object' && listed !== null && 'tools' in listed && Array.isArray(listed.tools));
  assert.deepEqual(
    listed.tools.map((tool: unknown) => (typeof tool === 'object' && tool !== null && 'name' in tool ? tool.name : null)),
    ['echo', 'add'],
  );

  const call = await runInspector(server.url, ['--method', 'tools/call', '--tool-name', 'echo', '--tool-arg', 'message=hi']);
  assert.equal(call.code, 0, call.stderr);
  assert.equal(textOf(JSON.parse(call.stdout)), 'Echo: hi');
});

test('run as a script: prints its URL, serves, and exits 0 on SIGTERM with a session open', async (t) => {
  const script = join(repoRoot(), 'dist', 'examples', 'echo-server', 'server.js');
  const proc = await spawnAndWait(process.execPath, [script, '--port', '0', '--mode', 'stateful'], {
    readyLine: /^echo MCP server listening on http:\/\/localhost:\d+\/mcp$/,
  });
  t.after(() => proc.stop('SIGKILL'));
  const url = (await proc.waitFor(/listening on /)).replace(/^.* on /, '');
  const { client, close } = await connectClient(url);
  t.after(close);
  assert.equal(textOf(await client.callTool({ name: 'echo', arguments: { message: 'script' } })), 'Echo: script');
  assert.deepEqual(await proc.stop('SIGTERM'), { code: 0, signal: null });
});

test('run as a script: a bad option is an error, not a server', async () => {
  const script = join(repoRoot(), 'dist', 'examples', 'echo-server', 'server.js');
  await assert.rejects(
    spawnAndWait(process.execPath, [script, '--mode', 'sideways'], { readyLine: /listening/ }),
    /exited \(code 1[^)]*\).*\n.*invalid mode: sideways/,
  );
});

test('echo server --whoami: the claims of the bearer token it got, checked against the JWKS it was given', async (t) => {
  const [signer, stranger] = await Promise.all([makeIssuer(), makeIssuer()]);
  const jwks = await startJwksServer({ keys: signer.jwks.keys });
  t.after(() => jwks.close());
  const checked = await startEchoServer({ port: 0, whoami: { jwksUrl: jwks.jwksUrl } });
  const unchecked = await startEchoServer({ port: 0, whoami: { jwksUrl: null } });
  t.after(() => Promise.all([checked.close(), unchecked.close()]));
  const claims = { iss: 'https://idp.example.com', sub: 'ada', aud: 'echo-server', exp: inSeconds(60) };

  const whoami = async (url: string, token?: string): Promise<Record<string, unknown>> => {
    const { client, close } = await connectClient(url, token);
    t.after(close);
    return { ...(await client.callTool({ name: 'whoami' })) };
  };
  const own = await whoami(checked.url, await signer.sign(claims));
  assert.deepEqual(own['structuredContent'], { verified: true, jwks: jwks.jwksUrl, claims });
  assert.equal(textOf(own), 'sub ada, issued by https://idp.example.com for echo-server, signature verified');
  const foreign = await whoami(checked.url, await stranger.sign(claims));
  assert.deepEqual(foreign['structuredContent'], { verified: false, jwks: jwks.jwksUrl, error: 'no applicable key found in the JSON Web Key Set', claims });
  assert.deepEqual((await whoami(unchecked.url, await signer.sign(claims)))['structuredContent'], { verified: false, jwks: null, error: 'not checked: no --jwks given', claims });
  assert.deepEqual((await whoami(checked.url, 'opaque'))['structuredContent'], { verified: false, jwks: jwks.jwksUrl, error: 'not a JWT', claims: null });
  const none = await whoami(checked.url);
  assert.equal(none['isError'], true);
  assert.equal(textOf(none), 'no bearer token in the request');
  // Only asked for: the lab's first steps list exactly echo and add.
  const plain = await startEchoServer({ port: 0 });
  t.after(() => plain.close());
  const toolsOf = async (url: string): Promise<string[]> => {
    const { client, close } = await connectClient(url);
    t.after(close);
    return (await client.listTools()).tools.map((tool) => tool.name);
  };
  assert.deepEqual(await toolsOf(plain.url), ['echo', 'add']);
  assert.deepEqual(await toolsOf(checked.url), ['echo', 'add', 'whoami']);
});
