// Several targets behind one MCP endpoint: two echo servers (a stateful, b stateless JSON) as
// targets `a` and `b`, each behind a recording proxy so the test sees which upstream a request
// reached. The SDK client sees one merged, prefixed server; calls are routed by prefix; a rule
// on `mcp.tool.target` hides and refuses the other target's tools; the session id is one sealed
// record of the upstream sessions, and DELETE ends them upstream. With a resumable target
// (server-everything), the merged GET stream tags event ids with the target and routes a
// Last-Event-ID back to it.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { stringify } from 'yaml';
import { startEchoServer } from '../../examples/echo-server/server.js';
import { createSessionCodec } from '../../src/main/mcp/session-id.js';
import { repoRoot, type CleanupHost } from '../helpers/files.js';
import { LAB_AUDIENCE, LAB_ISSUER, labKeys, startTestGateway, type LabKeys, type RuleSpec, type TestGateway } from '../helpers/gateway-harness.js';
import { openEventStream, type StreamEvent } from '../helpers/event-stream.js';
import { startEverything } from '../helpers/everything-server.js';
import { PROTOCOL_VERSION, errorOf, isRecord, itemNames, mcpFetch, openMcpSession, resultOf, rpc, type McpReply, type RpcRequest } from '../helpers/mcp-http.js';
import { spawnAndWait } from '../helpers/process.js';
import { startRecordingProxy, type ProxiedExchange, type RecordingProxy } from '../helpers/recording-upstream.js';
import { connectClient, type ConnectedClient } from '../helpers/sdk-client.js';
import { initializeResult, isNotification, resultFor, sendJson, sseEvent, startStub, type StubUpstream } from '../helpers/stub-upstream.js';

const cleanup: Array<() => Promise<void>> = [];
const suite: CleanupHost = { after: (fn) => void cleanup.push(fn) };
after(async () => {
  for (const fn of cleanup.reverse()) await fn();
});

const SESSION_KEY = 'multiplex-test-session-key';
const LATEST = '2025-11-25';
const TAGGED_UUID = /^e~[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** One route, jwtAuth strict, a backend with targets a and b; a fixed session key so the test can open the sealed ids. */
function multiplexYaml(targets: ReadonlyArray<{ readonly name: string; readonly url: string }>, rules?: readonly RuleSpec[]): string {
  const policies: Record<string, unknown> = {
    jwtAuth: { mode: 'strict', issuer: LAB_ISSUER, audiences: [LAB_AUDIENCE], jwks: { file: './jwks-keyset' } },
  };
  if (rules !== undefined) policies['mcpAuthorization'] = { rules };
  return stringify({
    config: { session: { key: SESSION_KEY } },
    binds: [
      {
        port: 0,
        listeners: [
          {
            routes: [
              {
                policies,
                backends: [{ mcp: { targets: targets.map((t) => ({ name: t.name, mcp: { host: t.url } })) } }],
              },
            ],
          },
        ],
      },
    ],
  });
}

function isMcpError(code: number, message: string): (err: unknown) => boolean {
  return (err) => {
    assert.ok(err instanceof McpError, `expected an McpError, got ${String(err)}`);
    assert.equal(err.code, code);
    assert.equal(err.message, `MCP error ${code}: ${message}`);
    return true;
  };
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

function textOf(content: unknown): string[] {
  if (!Array.isArray(content)) return [];
  return content.flatMap((c: unknown) => (typeof c === 'object' && c !== null && 'text' in c && typeof c.text === 'string' ? [c.text] : []));
}

function calls(proxy: RecordingProxy, from: number, rpcMethod: string): ProxiedExchange[] {
  return proxy.exchanges.slice(from).filter((e) => e.rpcMethod === rpcMethod);
}

let keys: LabKeys;
let proxyA: RecordingProxy;
let proxyB: RecordingProxy;
let echoAUrl: string;
let echoBUrl: string;
let open: TestGateway;
let ruled: TestGateway;

before(async () => {
  keys = await labKeys(suite);
  const echoA = await startEchoServer({ port: 0, mode: 'stateful' });
  suite.after(() => echoA.close());
  const echoB = await startEchoServer({ port: 0, mode: 'stateless-json' });
  suite.after(() => echoB.close());
  echoAUrl = echoA.url;
  echoBUrl = echoB.url;
  proxyA = await startRecordingProxy(echoA.url);
  suite.after(() => proxyA.close());
  proxyB = await startRecordingProxy(echoB.url);
  suite.after(() => proxyB.close());
  const targets = [
    { name: 'a', url: proxyA.url },
    { name: 'b', url: proxyB.url },
  ];
  open = await startTestGateway(suite, { cwd: keys.dir, configText: multiplexYaml(targets) });
  ruled = await startTestGateway(suite, { cwd: keys.dir, configText: multiplexYaml(targets, ['mcp.tool.target == "a"']) });
});

/** `connection: close`: no keep-alive socket outlives the gateways. */
async function withClient<T>(url: string, fn: (c: ConnectedClient) => Promise<T>): Promise<T> {
  const c = await connectClient(url, keys.jsmith, { headers: { connection: 'close' } });
  try {
    return await fn(c);
  } finally {
    await c.close();
  }
}

describe('two echo servers as targets a (stateful) and b (stateless JSON)', { timeout: 60_000 }, () => {
  test('the SDK client sees one server with prefixed names; calls reach only the named target', async () => {
    await withClient(open.url, async ({ client }) => {
      assert.equal(client.getServerVersion()?.name, 'portcullis', 'a merged initialize is the gateway\'s own');
      assert.deepEqual((await client.listTools()).tools.map((t) => t.name).sort(), ['a_add', 'a_echo', 'b_add', 'b_echo']);
      assert.deepEqual((await client.listPrompts()).prompts.map((p) => p.name).sort(), ['a_greeting', 'b_greeting']);
      assert.deepEqual((await client.listResources()).resources.map((r) => r.uri).sort(), ['a+info://server', 'b+info://server']);

      const fromA = proxyA.exchanges.length;
      const fromB = proxyB.exchanges.length;
      const echoed = await client.callTool({ name: 'b_echo', arguments: { message: 'to b' } });
      assert.deepEqual(textOf(echoed.content), ['Echo: to b']);
      assert.deepEqual(calls(proxyB, fromB, 'tools/call').map((e) => e.rpcTarget), ['echo'], 'b got the call with its own tool name');
      assert.deepEqual(calls(proxyA, fromA, 'tools/call'), [], 'a never saw b_echo');

      const sum = await client.callTool({ name: 'a_add', arguments: { a: 2, b: 40 } });
      assert.deepEqual(textOf(sum.content), ['42']);
      assert.deepEqual(calls(proxyA, fromA, 'tools/call').map((e) => e.rpcTarget), ['add']);

      const info = await client.readResource({ uri: 'a+info://server' });
      assert.deepEqual(info.contents.map((c) => ('text' in c ? c.text : null)), ['echo-server 0.1.0']);
      assert.deepEqual(calls(proxyA, fromA, 'resources/read').map((e) => e.rpcTarget), ['info://server']);

      const prompt = await client.getPrompt({ name: 'a_greeting', arguments: { name: 'Ann' } });
      assert.deepEqual(prompt.messages.map((m) => textOf([m.content])[0]), ['Please greet Ann warmly.']);
      assert.deepEqual(calls(proxyA, fromA, 'prompts/get').map((e) => e.rpcTarget), ['greeting']);
      assert.deepEqual(calls(proxyB, fromB, 'resources/read'), []);
      assert.deepEqual(calls(proxyB, fromB, 'prompts/get'), []);
    });
  });

  test('rule mcp.tool.target == "a": b\'s tools are hidden and refused (-32602), never reaching b', async () => {
    await withClient(ruled.url, async ({ client }) => {
      assert.deepEqual((await client.listTools()).tools.map((t) => t.name).sort(), ['a_add', 'a_echo']);
      const fromB = proxyB.exchanges.length;
      await assert.rejects(client.callTool({ name: 'b_echo', arguments: { message: 'x' } }), isMcpError(-32602, 'Unknown tool: b_echo'));
      await assert.rejects(client.callTool({ name: 'b_add', arguments: { a: 1, b: 2 } }), isMcpError(-32602, 'Unknown tool: b_add'));
      assert.deepEqual(calls(proxyB, fromB, 'tools/call'), [], 'a denied call must not reach b');
      const echoed = await client.callTool({ name: 'a_echo', arguments: { message: 'to a' } });
      assert.deepEqual(textOf(echoed.content), ['Echo: to a']);
    });
  });

  test('a name with an unknown target prefix, or none, is -32602 and reaches no upstream', async () => {
    await withClient(open.url, async ({ client }) => {
      const fromA = proxyA.exchanges.length;
      const fromB = proxyB.exchanges.length;
      await assert.rejects(client.callTool({ name: 'c_echo', arguments: { message: 'x' } }), isMcpError(-32602, 'Unknown tool: c_echo'));
      await assert.rejects(client.callTool({ name: 'echo', arguments: { message: 'x' } }), isMcpError(-32602, 'Unknown tool: echo'));
      await assert.rejects(client.getPrompt({ name: 'c_greeting', arguments: { name: 'x' } }), isMcpError(-32602, 'Unknown prompt: c_greeting'));
      await assert.rejects(client.readResource({ uri: 'c+info://server' }), isMcpError(-32602, 'Unknown resource: c+info://server'));
      assert.deepEqual(proxyA.exchanges.slice(fromA).filter((e) => e.method === 'POST'), []);
      assert.deepEqual(proxyB.exchanges.slice(fromB).filter((e) => e.method === 'POST'), []);
    });
  });

  test('the session id is one sealed record of the upstream sessions; DELETE ends a\'s session upstream', async () => {
    const fromA = proxyA.exchanges.length;
    const fromB = proxyB.exchanges.length;
    const c = await connectClient(open.url, keys.jsmith, { headers: { connection: 'close' } });
    let terminated = false;
    try {
      const sid = c.transport.sessionId;
      assert.ok(sid !== undefined, 'the gateway gives a session id');
      assert.match(sid, /^p1\.[A-Za-z0-9_-]+$/, 'one sealed id, not a list of upstream ids');
      const upstreamA = calls(proxyA, fromA, 'initialize')[0]?.responseSessionId;
      assert.ok(upstreamA !== undefined, 'a (stateful) opened a session');
      assert.equal(calls(proxyB, fromB, 'initialize')[0]?.responseSessionId, undefined, 'b (stateless) has none');
      assert.ok(!sid.includes(upstreamA));
      const record = createSessionCodec(SESSION_KEY).decode(sid);
      assert.ok(record !== null, 'the id opens with the configured key');
      assert.deepEqual(record.upstream, new Map([['a', upstreamA]]));

      // Later requests carry each upstream its own session id.
      await c.client.listTools();
      assert.equal(calls(proxyA, fromA, 'tools/list')[0]?.requestHeaders['mcp-session-id'], upstreamA);
      assert.equal(calls(proxyB, fromB, 'tools/list')[0]?.requestHeaders['mcp-session-id'], undefined);

      await c.transport.terminateSession();
      terminated = true;
      const deletes = proxyA.exchanges.slice(fromA).filter((e) => e.method === 'DELETE');
      assert.equal(deletes.length, 1, 'a got one DELETE');
      assert.equal(deletes[0]!.requestHeaders['mcp-session-id'], upstreamA);
      assert.equal(deletes[0]!.status, 200);

      // The upstream session is gone: echo server a itself refuses it...
      const direct = await mcpFetch(echoAUrl, rpc(1, 'ping'), { sessionId: upstreamA });
      assert.equal(direct.status, 404, direct.text);
      // ...and a call routed to a with the old gateway id gets a's answer: 404, re-initialize.
      const routed = await mcpFetch(open.url, rpc(2, 'tools/call', { name: 'a_echo', arguments: { message: 'late' } }), { token: keys.jsmith, sessionId: sid });
      assert.equal(routed.status, 404, routed.text);
      assert.equal(errorOf(routed).code, -32001);
    } finally {
      if (terminated) await c.client.close();
      else await c.close();
    }
  });

  test('after DELETE, a fanned-out request with the old id is 404 too (the spec\'s answer for an ended session)', async () => {
    const c = await connectClient(open.url, keys.jsmith, { headers: { connection: 'close' } });
    const sid = c.transport.sessionId!;
    await c.transport.terminateSession();
    await c.client.close();
    const listed = await mcpFetch(open.url, rpc(3, 'tools/list'), { token: keys.jsmith, sessionId: sid });
    // Target a answers 404 (its session is gone). A 502 here tells the client nothing about
    // its session, so it never re-initializes.
    assert.equal(listed.status, 404, `tools/list with an ended session: ${listed.status} ${listed.text}`);
  });
});

describe('a resumable target e (server-everything) next to a: the merged GET stream', { timeout: 60_000 }, () => {
  test('event ids are tagged <target>~<id>; a Last-Event-ID goes back to that target, untagged', async () => {
    // Both upstreams direct: a GET stream answers 200 (no 405 target, see the process test below),
    // and e's own log line shows the Last-Event-ID it received.
    const everything = await startEverything('streamableHttp');
    suite.after(() => everything.stop());
    const gw = await startTestGateway(suite, {
      cwd: keys.dir,
      configText: multiplexYaml([
        { name: 'e', url: everything.url },
        { name: 'a', url: echoAUrl },
      ]),
    });
    const init = await mcpFetch(
      gw.url,
      rpc(1, 'initialize', { protocolVersion: LATEST, capabilities: {}, clientInfo: { name: 'merged-stream', version: '0.0.0' } }),
      { token: keys.jsmith },
    );
    assert.equal(init.status, 200, init.text);
    const sid = init.headers.get('mcp-session-id');
    assert.ok(sid !== null);
    const session = { authorization: `Bearer ${keys.jsmith}`, 'mcp-session-id': sid, 'mcp-protocol-version': LATEST };
    const post = (body: RpcRequest): Promise<McpReply> => mcpFetch(gw.url, body, { headers: session });
    const toggle = async (id: number, expected: RegExp): Promise<void> => {
      const reply = await post(rpc(id, 'tools/call', { name: 'e_toggle-simulated-logging', arguments: {} }));
      assert.match(JSON.stringify(resultOf(reply)), expected);
    };
    try {
      assert.equal((await post({ jsonrpc: '2.0', method: 'notifications/initialized' })).status, 202);
      const live = await openEventStream(gw.url, { method: 'GET', headers: { ...session, accept: 'text/event-stream' } });
      assert.equal(live.status, 200);
      // Logging sends one message at once, on e's standalone stream: the merged GET.
      await toggle(2, /Started simulated/);
      const first = await live.until((e) => e.message?.['method'] === 'notifications/message');
      live.close();
      assert.match(first.id ?? '', TAGGED_UUID, first.lines.join('\n'));

      // While no GET is open, logging restarts: its first message waits in e's event store.
      await toggle(3, /Stopped simulated/);
      await toggle(4, /Started simulated/);
      const resumed = await openEventStream(gw.url, { method: 'GET', headers: { ...session, accept: 'text/event-stream', 'last-event-id': first.id! } });
      try {
        assert.equal(resumed.status, 200);
        const replayed = await resumed.until((e) => e.message?.['method'] === 'notifications/message');
        assert.match(replayed.id ?? '', TAGGED_UUID);
        assert.notEqual(replayed.id, first.id);
      } finally {
        resumed.close();
      }
      // e was asked to resume from its own id, without the tag.
      await everything.process.waitFor(new RegExp(`Client reconnecting with Last-Event-ID: ${first.id!.slice('e~'.length)}$`));
    } finally {
      await mcpFetch(gw.url, null, { method: 'DELETE', headers: session });
    }
  });
});

describe('the gateway as a process (portcullis -f) in front of a (stateful) and b (stateless)', { timeout: 60_000 }, () => {
  test('a client\'s GET stream (b answers 405, a 200) does not bring the process down', async () => {
    const config = join(keys.dir, 'multiplex-direct.yaml');
    await writeFile(config, multiplexYaml([
      { name: 'a', url: echoAUrl },
      { name: 'b', url: echoBUrl },
    ]));
    const gw = await spawnAndWait(process.execPath, [join(repoRoot(), 'bin', 'portcullis.js'), '-f', config], {
      cwd: keys.dir,
      env: { ADMIN_ADDR: '', STATS_ADDR: '', READINESS_ADDR: '' },
      readyLine: /started bind .*port=\d+/,
    });
    try {
      const port = Number(/port=(\d+)/.exec(gw.lines().find((l) => /started bind/.test(l)) ?? '')?.[1]);
      const url = `http://127.0.0.1:${port}/mcp`;
      const { sessionId } = await openMcpSession(url, { token: keys.jsmith });
      assert.ok(sessionId !== undefined);
      // What every SDK client does right after initialize.
      const stream = await openEventStream(url, {
        method: 'GET',
        headers: { accept: 'text/event-stream', authorization: `Bearer ${keys.jsmith}`, 'mcp-session-id': sessionId, 'mcp-protocol-version': PROTOCOL_VERSION },
      }).catch(asError);
      const listed = await mcpFetch(url, rpc(5, 'tools/list'), { token: keys.jsmith, sessionId }).catch(asError);
      if (!(stream instanceof Error)) stream.close();
      const crash = gw.output().match(/Unhandled 'error' event[\s\S]{0,300}/)?.[0];
      assert.equal(crash, undefined, 'the gateway process crashed');
      assert.ok(!(stream instanceof Error), `GET failed: ${String(stream)}`);
      assert.equal(stream.status, 200);
      assert.ok(!(listed instanceof Error), `tools/list after the GET failed: ${String(listed)}`);
      assert.equal(listed.status, 200);
    } finally {
      await gw.stop();
    }
  });
});

/**
 * A Streamable HTTP upstream whose GET stream carries what a resumed stream may: a tools/list
 * answer (echo and secret_admin), then a log notification `sent`. Sessions: initialize gets one.
 */
function startListStreamUpstream(): Promise<StubUpstream> {
  return startStub(null, (req, res) => {
    if (req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      const list = { jsonrpc: '2.0', id: 2, result: { tools: [{ name: 'echo', inputSchema: { type: 'object' } }, { name: 'secret_admin', inputSchema: { type: 'object' } }] } };
      res.write(sseEvent(list, 'id: 1\n'));
      res.write(sseEvent({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: 'sent' } }, 'id: 2\n'));
      return;
    }
    if (req.method !== 'POST') res.writeHead(200).end();
    else if (isNotification(req)) res.writeHead(202).end();
    else sendJson(res, resultFor(req, initializeResult('list-stream')), { 'mcp-session-id': 'list-stream-session' });
  });
}

describe('two targets whose GET streams carry a list answer (as a resumed stream may)', { timeout: 60_000 }, () => {
  test('the merged GET stream shows each list filtered and prefixed', async () => {
    const c = await startListStreamUpstream();
    suite.after(() => c.close());
    const d = await startListStreamUpstream();
    suite.after(() => d.close());
    const gw = await startTestGateway(suite, {
      cwd: keys.dir,
      configText: multiplexYaml([{ name: 'c', url: c.url }, { name: 'd', url: d.url }], ['mcp.tool.name == "echo"']),
    });
    const { sessionId } = await openMcpSession(gw.url, { token: keys.jsmith });
    assert.ok(sessionId !== undefined);
    const stream = await openEventStream(gw.url, {
      method: 'GET',
      headers: { accept: 'text/event-stream', authorization: `Bearer ${keys.jsmith}`, 'mcp-session-id': sessionId, 'mcp-protocol-version': PROTOCOL_VERSION },
    });
    try {
      assert.equal(stream.status, 200);
      const sent = (e: StreamEvent): boolean => isRecord(e.message?.['params']) && e.message['params']['data'] === 'sent';
      await stream.until(sent);
      await stream.until(sent);
      const lists = stream.events.flatMap((e) => (e.message !== null && isRecord(e.message['result']) ? [e.message['result']] : []));
      assert.deepEqual(lists.map((r) => itemNames(r, 'tools')).sort(), [['c_echo'], ['d_echo']]);
      assert.deepEqual(stream.events.filter((e) => e.data?.includes('secret_admin')), []);
    } finally {
      stream.close();
    }
  });
});
