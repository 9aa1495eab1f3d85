// List results from channel targets (stdio, legacy HTTP+SSE) under the rule
// `mcp.tool.name == "echo"`, with a scripted server offering `echo` and `secret_admin` whose
// list answers the test can hold back (scripted-server.ts). An answer whose client went away,
// an answer to an id two requests share, and what the server sends unasked must never bring
// `secret_admin` to a client; with prefixMode always, one channel target's names are prefixed
// like a multiplexed one's.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { stringify } from 'yaml';
import type { CleanupHost } from '../helpers/files.js';
import { LAB_AUDIENCE, LAB_ISSUER, labKeys, startTestGateway, type LabKeys, type LogCapture, type TestGateway } from '../helpers/gateway-harness.js';
import { openEventStream, type EventStream, type StreamEvent } from '../helpers/event-stream.js';
import { MCP_ACCEPT, PROTOCOL_VERSION, errorOf, isRecord, itemNames, mcpFetch, onlyMessage, openMcpSession, resultOf, rpc, toolText, type McpReply, type RpcRequest } from '../helpers/mcp-http.js';
import { scriptedStdioEntry } from '../helpers/scripted-server.js';
import { startScriptedSseServer, type ScriptedSseServer } from '../helpers/scripted-sse-server.js';

const cleanup: Array<() => Promise<void>> = [];
const suite: CleanupHost = { after: (fn) => void cleanup.push(fn) };
after(async () => {
  for (const fn of cleanup.reverse()) await fn();
});

const ECHO_ONLY = ['mcp.tool.name == "echo"'];

function channelYaml(targets: ReadonlyArray<Readonly<Record<string, unknown>>>, opts: { readonly rules?: readonly string[]; readonly prefixMode?: 'always' } = {}): string {
  const policies: Record<string, unknown> = {
    jwtAuth: { mode: 'strict', issuer: LAB_ISSUER, audiences: [LAB_AUDIENCE], jwks: { file: './jwks-keyset' } },
  };
  if (opts.rules !== undefined) policies['mcpAuthorization'] = { rules: opts.rules };
  const mcp = { ...(opts.prefixMode === undefined ? {} : { prefixMode: opts.prefixMode }), targets };
  return stringify({ binds: [{ port: 0, listeners: [{ routes: [{ policies, backends: [{ mcp }] }] }] }] });
}

function stdioTarget(name: string): Record<string, unknown> {
  return { name, stdio: { cmd: process.execPath, args: [scriptedStdioEntry] } };
}

/** The `data` of a log notification. */
function logData(e: StreamEvent): unknown {
  const params = e.message?.['params'];
  return isRecord(params) ? params['data'] : undefined;
}

let keys: LabKeys;
let sseServer: ScriptedSseServer;

before(async () => {
  keys = await labKeys(suite);
  sseServer = await startScriptedSseServer();
  suite.after(() => sseServer.close());
});

/** A gateway in front of one channel target, and where its server's notes appear. */
interface Setup {
  readonly gw: TestGateway;
  readonly notes: LogCapture;
}

const transports: ReadonlyArray<{ readonly name: string; readonly start: () => Promise<Setup> }> = [
  {
    name: 'stdio',
    start: async () => {
      const gw = await startTestGateway(suite, { cwd: keys.dir, configText: channelYaml([stdioTarget('stub')], { rules: ECHO_ONLY }) });
      // The process's stderr goes to the gateway's log.
      return { gw, notes: gw.log };
    },
  },
  {
    name: 'legacy HTTP+SSE',
    start: async () => {
      const gw = await startTestGateway(suite, { cwd: keys.dir, configText: channelYaml([{ name: 'stub', sse: { host: sseServer.url } }], { rules: ECHO_ONLY }) });
      return { gw, notes: sseServer.notes };
    },
  },
];

function getStream(gw: TestGateway, sessionId: string): Promise<EventStream> {
  return openEventStream(gw.url, {
    method: 'GET',
    headers: { accept: 'text/event-stream', authorization: `Bearer ${keys.jsmith}`, 'mcp-session-id': sessionId, 'mcp-protocol-version': PROTOCOL_VERSION },
  });
}

/** A POST the test can cut (mcpFetch cannot). */
function abortablePost(gw: TestGateway, sessionId: string, body: RpcRequest, signal: AbortSignal): Promise<Response> {
  return fetch(gw.url, {
    method: 'POST',
    signal,
    headers: { accept: MCP_ACCEPT, 'content-type': 'application/json', authorization: `Bearer ${keys.jsmith}`, 'mcp-session-id': sessionId, 'mcp-protocol-version': PROTOCOL_VERSION },
    body: JSON.stringify(body),
  });
}

/** Every event read so far that names secret_admin, however it is shaped. */
function secrets(stream: EventStream): string[] {
  return stream.events.flatMap((e) => (e.data !== null && e.data.includes('secret_admin') ? [e.data] : []));
}

for (const transport of transports) {
  describe(`a ${transport.name} target: answers reach only the request they answer`, { timeout: 60_000 }, () => {
    let setup: Setup;
    before(async () => {
      setup = await transport.start();
    });

    test('a list answer whose client went away is dropped, not sent unfiltered to the GET stream', async () => {
      const { gw, notes } = setup;
      const { sessionId } = await openMcpSession(gw.url, { token: keys.jsmith });
      assert.ok(sessionId !== undefined);
      const noted = notes.lines.length;
      const logged = gw.log.lines.length;
      const abort = new AbortController();
      // A server that ignores the gateway's cancellation answers anyway, late.
      const listing = abortablePost(gw, sessionId, rpc(9, 'tools/list', { cursor: 'stubborn' }), abort.signal);
      await notes.waitFor(/holding tools\/list/, { fromLine: noted });
      abort.abort();
      await assert.rejects(listing);
      await notes.waitFor(/cancelled \d+/, { fromLine: noted });
      // The access line is written when the gateway sees the client leave.
      await gw.log.waitFor(/mcp\.method=tools\/list .*client closed the connection/, { fromLine: logged });

      // The ping releases the held list answer, then its own answer, then a `released` log.
      const ping = await mcpFetch(gw.url, rpc(10, 'ping'), { token: keys.jsmith, sessionId });
      assert.deepEqual(onlyMessage(ping), { jsonrpc: '2.0', id: 10, result: {} });
      const stream = await getStream(gw, sessionId);
      try {
        assert.equal(stream.status, 200);
        await stream.until((e) => logData(e) === 'released');
        assert.deepEqual(secrets(stream), []);
      } finally {
        stream.close();
      }
      await gw.log.waitFor(/dropped a response to no pending request/, { fromLine: logged });
    });

    test('two requests with the same id (tools/list 7, ping 7) each get their own answer, the list filtered', async () => {
      const { gw, notes } = setup;
      const { sessionId } = await openMcpSession(gw.url, { token: keys.jsmith });
      assert.ok(sessionId !== undefined);
      const noted = notes.lines.length;
      const listing = mcpFetch(gw.url, rpc(7, 'tools/list', { cursor: 'held' }), { token: keys.jsmith, sessionId });
      listing.catch(() => {}); // awaited below; not left unhandled if an assertion fails first
      await notes.waitFor(/holding tools\/list/, { fromLine: noted });
      const ping = await mcpFetch(gw.url, rpc(7, 'ping'), { token: keys.jsmith, sessionId });
      assert.equal(ping.status, 200, ping.text);
      assert.deepEqual(onlyMessage(ping), { jsonrpc: '2.0', id: 7, result: {} });
      const listed: McpReply = await listing;
      assert.equal(listed.status, 200, listed.text);
      assert.equal(onlyMessage(listed)['id'], 7);
      assert.deepEqual(itemNames(resultOf(listed), 'tools'), ['echo']);
    });

    test('a client\'s notifications/cancelled reaches the server under the id the server knows', async () => {
      const { gw, notes } = setup;
      const { sessionId } = await openMcpSession(gw.url, { token: keys.jsmith });
      assert.ok(sessionId !== undefined);
      const noted = notes.lines.length;
      const abort = new AbortController();
      const listing = abortablePost(gw, sessionId, rpc(5, 'tools/list', { cursor: 'held' }), abort.signal);
      listing.catch(() => {}); // cut below, once the server has dropped it
      const holding = await notes.waitFor(/holding tools\/list \S+$/, { fromLine: noted });
      const upstreamId = /(\S+)$/.exec(holding)?.[1] ?? '';
      const cancel: RpcRequest = { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 5, reason: 'changed my mind' } };
      const cancelled = await mcpFetch(gw.url, cancel, { token: keys.jsmith, sessionId });
      assert.equal(cancelled.status, 202, cancelled.text);
      const seen = await notes.waitFor(/(?:^|: )cancelled \S+/, { fromLine: noted });
      assert.ok(seen.endsWith(`cancelled ${upstreamId} (held)`), `held as ${upstreamId}, then: ${seen}`);
      abort.abort();
    });

    test('what the server sends unasked reaches the GET stream filtered; a response to no request is dropped', async () => {
      const { gw } = setup;
      await expectStrayListFiltered(gw, 'echo', ['echo']);
    });
  });
}

/** A call of `tool` makes the scripted server send, unasked, a response to no request and a list
 * (in a log notification's result): on the session's GET stream the response must be dropped
 * and the list filtered to `names`, with no secret anywhere. */
async function expectStrayListFiltered(gw: TestGateway, tool: string, names: readonly string[]): Promise<void> {
  const { sessionId } = await openMcpSession(gw.url, { token: keys.jsmith });
  assert.ok(sessionId !== undefined);
  const stream = await getStream(gw, sessionId);
  try {
    assert.equal(stream.status, 200);
    const called = await mcpFetch(gw.url, rpc(3, 'tools/call', { name: tool, arguments: { message: 'stray' } }), { token: keys.jsmith, sessionId });
    assert.equal(toolText(resultOf(called)), 'echo: stray');
    await stream.until((e) => logData(e) === 'stray sent');
    const messages = stream.events.flatMap((e) => (e.message === null ? [] : [e.message]));
    assert.deepEqual(messages.filter((m) => !('method' in m)), [], 'no response on the GET stream');
    const strayList = messages.find((m) => isRecord(m['params']) && m['params']['data'] === 'stray list');
    assert.ok(strayList !== undefined && isRecord(strayList['result']), JSON.stringify(messages));
    assert.deepEqual(itemNames(strayList['result'], 'tools'), names);
    assert.deepEqual(secrets(stream), []);
  } finally {
    stream.close();
  }
}

describe('two stdio targets s and t: the merged GET stream', { timeout: 60_000 }, () => {
  test('a list the server sends unasked is filtered and prefixed; a response to no request is dropped', async () => {
    const gw = await startTestGateway(suite, { cwd: keys.dir, configText: channelYaml([stdioTarget('s'), stdioTarget('t')], { rules: ECHO_ONLY }) });
    await expectStrayListFiltered(gw, 's_echo', ['s_echo']);
  });
});

describe('prefixMode always with one stdio target', { timeout: 60_000 }, () => {
  test('with rules: the list shows stub_echo only, stub_echo is called, echo is an unknown tool', async () => {
    const gw = await startTestGateway(suite, { cwd: keys.dir, configText: channelYaml([stdioTarget('stub')], { rules: ECHO_ONLY, prefixMode: 'always' }) });
    const { sessionId } = await openMcpSession(gw.url, { token: keys.jsmith });
    assert.ok(sessionId !== undefined);
    const listed = await mcpFetch(gw.url, rpc(2, 'tools/list'), { token: keys.jsmith, sessionId });
    assert.deepEqual(itemNames(resultOf(listed), 'tools'), ['stub_echo']);
    const called = await mcpFetch(gw.url, rpc(3, 'tools/call', { name: 'stub_echo', arguments: { message: 'hi' } }), { token: keys.jsmith, sessionId });
    assert.equal(toolText(resultOf(called)), 'echo: hi');
    const unknown = await mcpFetch(gw.url, rpc(4, 'tools/call', { name: 'echo', arguments: { message: 'hi' } }), { token: keys.jsmith, sessionId });
    assert.deepEqual(errorOf(unknown), { code: -32602, message: 'Unknown tool: echo' });
  });

  test('without rules: every tool is listed, prefixed', async () => {
    const gw = await startTestGateway(suite, { cwd: keys.dir, configText: channelYaml([stdioTarget('stub')], { prefixMode: 'always' }) });
    const { sessionId } = await openMcpSession(gw.url, { token: keys.jsmith });
    assert.ok(sessionId !== undefined);
    const listed = await mcpFetch(gw.url, rpc(2, 'tools/list'), { token: keys.jsmith, sessionId });
    assert.deepEqual(itemNames(resultOf(listed), 'tools'), ['stub_echo', 'stub_secret_admin']);
    const called = await mcpFetch(gw.url, rpc(3, 'tools/call', { name: 'stub_secret_admin', arguments: { message: 'hi' } }), { token: keys.jsmith, sessionId });
    assert.equal(toolText(resultOf(called)), 'secret_admin: hi');
  });
});
