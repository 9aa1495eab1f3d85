// The MCP TypeScript SDK client through an in-process gateway, against the echo server in all
// three modes (stateful = SSE replies with sessions, stateless-sse, stateless-json), so list
// filtering is shown on SSE and JSON replies alike. A recording proxy between gateway and echo
// server shows what reached the upstream, the content type it answered with and its session ids.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { ECHO_SERVER_MODES, startEchoServer, type EchoServerMode } from '../../examples/echo-server/server.js';
import type { CleanupHost } from '../helpers/files.js';
import { gatewayYaml, labKeys, startTestGateway, type LabKeys, type TestGateway } from '../helpers/gateway-harness.js';
import { itemNames, mcpFetch, resultOf, rpc } from '../helpers/mcp-http.js';
import { startRecordingProxy, type ProxiedExchange, type RecordingProxy } from '../helpers/recording-upstream.js';
import { connectClient, type ConnectedClient } from '../helpers/sdk-client.js';

const cleanup: Array<() => Promise<void>> = [];
const suite: CleanupHost = { after: (fn) => void cleanup.push(fn) };
after(async () => {
  for (const fn of cleanup.reverse()) await fn();
});

/** Config 2's rule plus one for the prompt: echo for admins only, greeting for everyone, no resources. */
const RULES = ['mcp.tool.name == "echo" && "admin" in jwt.roles', 'mcp.prompt.name == "greeting"'];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let keys: LabKeys;
before(async () => {
  keys = await labKeys(suite);
});

/** `connection: close` so no idle keep-alive socket holds the test process after the gateways close. */
function connect(url: string, token: string): Promise<ConnectedClient> {
  return connectClient(url, token, { headers: { connection: 'close' } });
}

async function withClient<T>(url: string, token: string, fn: (c: ConnectedClient) => Promise<T>): Promise<T> {
  const c = await connect(url, token);
  try {
    return await fn(c);
  } finally {
    await c.close();
  }
}

function isMcpError(code: number, message: string): (err: unknown) => boolean {
  return (err) => {
    assert.ok(err instanceof McpError, `expected an McpError, got ${String(err)}`);
    assert.equal(err.code, code);
    assert.match(err.message, new RegExp(message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    return true;
  };
}

function textOf(content: unknown): string[] {
  if (!Array.isArray(content)) return [];
  return content.flatMap((c: unknown) => (typeof c === 'object' && c !== null && 'text' in c && typeof c.text === 'string' ? [c.text] : []));
}

/** Exchanges recorded since `from` whose JSON-RPC method is `method`. */
function upstreamCalls(proxy: RecordingProxy, from: number, method: string): ProxiedExchange[] {
  return proxy.exchanges.slice(from).filter((e) => e.rpcMethod === method);
}

const expectedListType: Readonly<Record<EchoServerMode, RegExp>> = {
  stateful: /^text\/event-stream/,
  'stateless-sse': /^text\/event-stream/,
  'stateless-json': /^application\/json/,
};

for (const mode of ECHO_SERVER_MODES) {
  describe(`echo server ${mode}`, () => {
    let proxy: RecordingProxy;
    let open: TestGateway;
    let ruled: TestGateway;

    before(async () => {
      const echo = await startEchoServer({ port: 0, mode });
      suite.after(() => echo.close());
      proxy = await startRecordingProxy(echo.url);
      suite.after(() => proxy.close());
      open = await startTestGateway(suite, { cwd: keys.dir, configText: gatewayYaml({ upstreamUrl: proxy.url }) });
      ruled = await startTestGateway(suite, { cwd: keys.dir, configText: gatewayYaml({ upstreamUrl: proxy.url, rules: RULES }) });
    });

    test('no mcpAuthorization (config 1): tools, prompts and resources all visible and usable', async () => {
      await withClient(open.url, keys.jsmith, async ({ client }) => {
        assert.deepEqual((await client.listTools()).tools.map((t) => t.name).sort(), ['add', 'echo']);
        assert.deepEqual((await client.listPrompts()).prompts.map((p) => p.name), ['greeting']);
        assert.deepEqual((await client.listResources()).resources.map((r) => r.uri), ['info://server']);
        const echoed = await client.callTool({ name: 'echo', arguments: { message: 'hi' } });
        assert.deepEqual(textOf(echoed.content), ['Echo: hi']);
        const sum = await client.callTool({ name: 'add', arguments: { a: 2, b: 40 } });
        assert.deepEqual(textOf(sum.content), ['42']);
        const info = await client.readResource({ uri: 'info://server' });
        assert.deepEqual(info.contents.map((c) => ('text' in c ? c.text : null)), ['echo-server 0.1.0']);
        const prompt = await client.getPrompt({ name: 'greeting', arguments: { name: 'Ann' } });
        assert.deepEqual(prompt.messages.map((m) => textOf([m.content])[0]), ['Please greet Ann warmly.']);
      });
    });

    test(`rules: jsmith sees no tools, the prompt, no resource; denied calls are -32602 and never reach the upstream`, async () => {
      const from = proxy.exchanges.length;
      await withClient(ruled.url, keys.jsmith, async ({ client }) => {
        assert.deepEqual((await client.listTools()).tools, []);
        assert.deepEqual((await client.listPrompts()).prompts.map((p) => p.name), ['greeting']);
        assert.deepEqual((await client.listResources()).resources, []);
        await assert.rejects(client.callTool({ name: 'echo', arguments: { message: 'hi' } }), isMcpError(-32602, 'Unknown tool: echo'));
        await assert.rejects(client.callTool({ name: 'add', arguments: { a: 1, b: 2 } }), isMcpError(-32602, 'Unknown tool: add'));
        await assert.rejects(client.readResource({ uri: 'info://server' }), isMcpError(-32602, 'Unknown resource: info://server'));
        const prompt = await client.getPrompt({ name: 'greeting', arguments: { name: 'Bo' } });
        assert.deepEqual(prompt.messages.map((m) => textOf([m.content])[0]), ['Please greet Bo warmly.']);
      });
      assert.deepEqual(upstreamCalls(proxy, from, 'tools/call'), [], 'denied tool calls must not reach the upstream');
      assert.deepEqual(upstreamCalls(proxy, from, 'resources/read'), [], 'a denied resource read must not reach the upstream');
      assert.equal(upstreamCalls(proxy, from, 'prompts/get').length, 1);
      // The upstream did list everything: the gateway filtered the replies, whatever their type.
      const lists = upstreamCalls(proxy, from, 'tools/list');
      assert.equal(lists.length, 1);
      assert.match(lists[0]!.responseContentType ?? '', expectedListType[mode]);
    });

    test('rules: the admin sees and calls echo only', async () => {
      const from = proxy.exchanges.length;
      await withClient(ruled.url, keys.admin, async ({ client }) => {
        assert.deepEqual((await client.listTools()).tools.map((t) => t.name), ['echo']);
        assert.deepEqual((await client.listPrompts()).prompts.map((p) => p.name), ['greeting']);
        assert.deepEqual((await client.listResources()).resources, []);
        const echoed = await client.callTool({ name: 'echo', arguments: { message: 'hi' } });
        assert.deepEqual(textOf(echoed.content), ['Echo: hi']);
        await assert.rejects(client.callTool({ name: 'add', arguments: { a: 1, b: 2 } }), isMcpError(-32602, 'Unknown tool: add'));
      });
      assert.deepEqual(upstreamCalls(proxy, from, 'tools/call').map((e) => e.rpcTarget), ['echo']);
    });

    test('list filtering on raw requests: the same results as the SDK saw', async () => {
      const list = await mcpFetch(ruled.url, rpc(7, 'tools/list'), { token: keys.admin });
      if (mode === 'stateful') {
        // Without a session the stateful upstream refuses; the gateway relays that answer.
        assert.equal(list.status, 400, list.text);
        return;
      }
      assert.equal(list.status, 200, list.text);
      assert.match(list.contentType, expectedListType[mode]);
      assert.deepEqual(itemNames(resultOf(list), 'tools'), ['echo']);
      const denied = await mcpFetch(ruled.url, rpc(8, 'resources/read', { uri: 'info://server' }), { token: keys.admin });
      assert.equal(denied.status, 200);
      assert.deepEqual(JSON.parse(denied.text), {
        jsonrpc: '2.0',
        id: 8,
        error: { code: -32602, message: 'Unknown resource: info://server', data: { code: 'GW_UNKNOWN_TARGET' } },
      });
      // the gateway's answer says so, with the same code a resource no target has would get
      assert.equal(denied.headers.get('x-portcullis-error'), 'GW_UNKNOWN_TARGET');
    });

    test('a made-up session id is 404', async () => {
      for (const sessionId of ['made-up-session', 'p1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA']) {
        const reply = await mcpFetch(open.url, rpc(3, 'tools/list'), { token: keys.jsmith, sessionId });
        assert.equal(reply.status, 404, `${sessionId}: ${reply.text}`);
      }
      assert.equal((await mcpFetch(open.url, null, { method: 'DELETE', token: keys.jsmith, sessionId: 'made-up-session' })).status, 404);
    });

    if (mode === 'stateful') {
      test("sessions: the client's id is the gateway's sealed record, bound to the user, ended by DELETE", async () => {
        const from = proxy.exchanges.length;
        const c = await connect(open.url, keys.admin);
        let terminated = false;
        try {
          const sid = c.transport.sessionId;
          assert.ok(sid !== undefined, 'the gateway gives the client a session id');
          assert.ok(sid.startsWith('p1.'), sid);
          const upstreamSid = upstreamCalls(proxy, from, 'initialize')[0]?.responseSessionId;
          assert.ok(upstreamSid !== undefined && UUID.test(upstreamSid), `upstream session id: ${String(upstreamSid)}`);
          assert.notEqual(sid, upstreamSid);
          assert.ok(!sid.includes(upstreamSid), 'the upstream session id must not be readable in the gateway\'s');
          // Later requests carry the upstream's id upstream, not the gateway's.
          await c.client.listTools();
          const listed = upstreamCalls(proxy, from, 'tools/list')[0];
          assert.equal(listed?.requestHeaders['mcp-session-id'], upstreamSid);

          // The same id with the owner's token works; with another user's token it is 404.
          const own = await mcpFetch(open.url, rpc(50, 'tools/list'), { token: keys.admin, sessionId: sid });
          assert.equal(own.status, 200, own.text);
          const seen = proxy.exchanges.length;
          const stolen = await mcpFetch(open.url, rpc(51, 'tools/list'), { token: keys.jsmith, sessionId: sid });
          assert.equal(stolen.status, 404, stolen.text);
          const stolenDelete = await mcpFetch(open.url, null, { method: 'DELETE', token: keys.jsmith, sessionId: sid });
          assert.equal(stolenDelete.status, 404, stolenDelete.text);
          assert.equal(proxy.exchanges.length, seen, 'a stolen session id must not reach the upstream');

          // DELETE ends the session upstream; the id is dead afterwards.
          await c.transport.terminateSession();
          terminated = true;
          const deleted = proxy.exchanges.slice(from).filter((e) => e.method === 'DELETE');
          assert.equal(deleted.length, 1);
          assert.equal(deleted[0]!.requestHeaders['mcp-session-id'], upstreamSid);
          assert.equal(deleted[0]!.status, 200);
          const dead = await mcpFetch(open.url, rpc(52, 'tools/list'), { token: keys.admin, sessionId: sid });
          assert.equal(dead.status, 404, dead.text);
        } finally {
          if (terminated) await c.client.close();
          else await c.close();
        }
      });
    }
  });
}
