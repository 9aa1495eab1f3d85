// server-everything (Streamable HTTP: stateful, SSE answers, resumable, server→client requests)
// behind the gateway with jwtAuth strict and a deny rule on get-env. Real clients: the inspector
// CLI and the SDK client; raw fetch where the bytes on the stream matter (priming event, ids,
// resumption with Last-Event-ID).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { McpError, type Progress } from '@modelcontextprotocol/sdk/types.js';
import { openEventStream, type StreamEvent } from '../helpers/event-stream.js';
import { startEverything } from '../helpers/everything-server.js';
import type { CleanupHost } from '../helpers/files.js';
import { gatewayYaml, labKeys, startTestGateway, type LabKeys, type TestGateway } from '../helpers/gateway-harness.js';
import { runInspector } from '../helpers/inspector.js';
import { MCP_ACCEPT, inspectorJson, isRecord, mcpFetch, toolText, resultOf, rpc, type McpReply, type RpcRequest } from '../helpers/mcp-http.js';
import { SAMPLING_MODEL, connectSamplingClient } from '../helpers/sampling-client.js';
import { connectClient } from '../helpers/sdk-client.js';

const cleanup: Array<() => Promise<void>> = [];
const suite: CleanupHost = { after: (fn) => void cleanup.push(fn) };
after(async () => {
  for (const fn of cleanup.reverse()) await fn();
});

/** What server-everything lists for a client without sampling/elicitation/roots (mcp-peers.md §2), get-env removed. */
const VISIBLE_TOOLS = [
  'echo',
  'get-annotated-message',
  'get-resource-links',
  'get-resource-reference',
  'get-structured-content',
  'get-sum',
  'get-tiny-image',
  'gzip-file-as-resource',
  'simulate-research-query',
  'toggle-simulated-logging',
  'toggle-subscriber-updates',
  'trigger-long-running-operation',
];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const LATEST = '2025-11-25';

let keys: LabKeys;
let gw: TestGateway;

before(async () => {
  keys = await labKeys(suite);
  const everything = await startEverything('streamableHttp');
  suite.after(() => everything.stop());
  gw = await startTestGateway(suite, {
    cwd: keys.dir,
    configText: gatewayYaml({ upstreamUrl: everything.url, rules: [{ deny: 'mcp.tool.name == "get-env"' }] }),
  });
});



describe('server-everything (streamableHttp) behind jwtAuth strict + deny get-env', { timeout: 60_000 }, () => {
  test('inspector CLI: tools/list without get-env; tools/call get-sum a=2 b=40', async () => {
    const listed = await runInspector(gw.url, ['--method', 'tools/list'], { token: keys.jsmith });
    assert.equal(listed.code, 0, listed.stderr);
    const tools = inspectorJson(listed.stdout)['tools'];
    assert.ok(Array.isArray(tools));
    const names = tools.map((t: unknown) => (isRecord(t) ? t['name'] : null));
    assert.deepEqual([...names].sort(), VISIBLE_TOOLS);
    assert.ok(!names.includes('get-env'));

    const summed = await runInspector(gw.url, ['--method', 'tools/call', '--tool-name', 'get-sum', '--tool-arg', 'a=2', 'b=40'], { token: keys.jsmith });
    assert.equal(summed.code, 0, summed.stderr);
    assert.equal(toolText(inspectorJson(summed.stdout)), 'The sum of 2 and 40 is 42.');
  });

  test('get-env is refused: the inspector fails with -32602, the SDK client gets an McpError', async () => {
    const refused = await runInspector(gw.url, ['--method', 'tools/call', '--tool-name', 'get-env'], { token: keys.jsmith });
    assert.equal(refused.code, 1, refused.stdout);
    assert.match(refused.stderr, /MCP error -32602: Unknown tool: get-env/);
    assert.doesNotMatch(refused.stdout, /PATH/, 'no environment leaked');

    const c = await connectClient(gw.url, keys.jsmith, { headers: { connection: 'close' } });
    try {
      await assert.rejects(c.client.callTool({ name: 'get-env', arguments: {} }), (err: unknown) => {
        assert.ok(err instanceof McpError);
        assert.equal(err.code, -32602);
        assert.match(err.message, /Unknown tool: get-env/);
        return true;
      });
    } finally {
      await c.close();
    }
  });

  test('SDK client: progress notifications of trigger-long-running-operation arrive through the relayed SSE answer', async () => {
    const c = await connectClient(gw.url, keys.jsmith, { headers: { connection: 'close' } });
    try {
      const progress: Progress[] = [];
      const result = await c.client.callTool({ name: 'trigger-long-running-operation', arguments: { duration: 0.4, steps: 4 } }, undefined, {
        onprogress: (p) => progress.push(p),
      });
      assert.deepEqual(progress.map((p) => [p.progress, p.total]), [[1, 4], [2, 4], [3, 4], [4, 4]]);
      assert.equal(toolText(result), 'Long running operation completed. Duration: 0.4 seconds, Steps: 4.');
    } finally {
      await c.close();
    }
  });

  test('sampling: the server\'s sampling/createMessage reaches the client on the POST\'s stream; the client\'s answer is POSTed back (202)', async () => {
    const c = await connectSamplingClient(gw.url, keys.jsmith, 'sampled through the gateway');
    try {
      const tools = (await c.client.listTools()).tools.map((t) => t.name);
      assert.ok(tools.includes('trigger-sampling-request'), `a sampling client sees the sampling tool: ${tools.join(', ')}`);
      const result = await c.client.callTool({ name: 'trigger-sampling-request', arguments: { prompt: 'hello gateway', maxTokens: 20 } });
      assert.equal(c.asked.length, 1);
      assert.match(JSON.stringify(c.asked[0]!.messages), /hello gateway/);
      assert.equal(c.asked[0]!.maxTokens, 20);
      const text = toolText(result);
      assert.match(text, /^LLM sampling result:/);
      assert.match(text, /sampled through the gateway/);
      assert.match(text, new RegExp(SAMPLING_MODEL));
      // The client's JSON-RPC response went back as its own POST, accepted with 202.
      const answers = c.responsePosts();
      assert.equal(answers.length, 1, JSON.stringify(c.exchanges.map((e) => [e.method, e.body.slice(0, 60), e.status])));
      assert.equal(answers[0]!.status, 202);
      assert.match(answers[0]!.body, /sampled through the gateway/);
    } finally {
      await c.close();
    }
  });

  test('resumability: a stream cut after its first progress event is replayed by GET with Last-Event-ID; ids and the priming event pass through', async () => {
    const auth = { authorization: `Bearer ${keys.jsmith}` };
    const init = await mcpFetch(
      gw.url,
      rpc(1, 'initialize', { protocolVersion: LATEST, capabilities: {}, clientInfo: { name: 'raw-resume', version: '0.0.0' } }),
      { token: keys.jsmith },
    );
    assert.equal(init.status, 200, init.text);
    assert.match(init.contentType, /^text\/event-stream/);
    // A 2025-11-25 stream opens with a priming event (an id, empty data), passed through as is.
    assert.match(init.text, /^id: [0-9a-f-]{36}\ndata: \n\n/);
    const sid = init.headers.get('mcp-session-id');
    assert.ok(sid !== null && sid.startsWith('p1.'), String(sid));
    const session = { ...auth, 'mcp-session-id': sid, 'mcp-protocol-version': LATEST };
    const post = (body: RpcRequest): Promise<McpReply> => mcpFetch(gw.url, body, { headers: session });
    assert.equal((await post({ jsonrpc: '2.0', method: 'notifications/initialized' })).status, 202);

    try {
      const args = { duration: 1.2, steps: 4 };
      const cut = await openEventStream(gw.url, {
        method: 'POST',
        headers: { ...session, accept: MCP_ACCEPT, 'content-type': 'application/json' },
        body: JSON.stringify(rpc(10, 'tools/call', { name: 'trigger-long-running-operation', arguments: args, _meta: { progressToken: 'resume-me' } })),
      });
      assert.equal(cut.status, 200);
      const priming = await cut.until(() => true);
      assert.ok(priming.id !== undefined && UUID.test(priming.id), `priming event id: ${priming.lines.join('\\n')}`);
      assert.equal(priming.data, '');
      const first = await cut.until((e) => e.message?.['method'] === 'notifications/progress');
      assert.deepEqual(first.lines.slice(0, 2), ['event: message', `id: ${first.id ?? ''}`], 'upstream event lines unchanged');
      assert.ok(first.id !== undefined && UUID.test(first.id));
      assert.equal(progressOf(first), 1);
      cut.close();

      // A second, identical operation started now finishes after the cut one (same timers,
      // started one step later): once its answer is here, the cut stream's events are all stored.
      const later = await post(rpc(11, 'tools/call', { name: 'trigger-long-running-operation', arguments: args }));
      assert.equal(toolText(resultOf(later)), 'Long running operation completed. Duration: 1.2 seconds, Steps: 4.');

      const resumed = await openEventStream(gw.url, {
        method: 'GET',
        headers: { ...session, accept: 'text/event-stream', 'last-event-id': first.id },
      });
      try {
        assert.equal(resumed.status, 200);
        const answer = await resumed.until((e) => e.message?.['id'] === 10);
        assert.equal(toolText(answer.message?.['result']), 'Long running operation completed. Duration: 1.2 seconds, Steps: 4.');
        const replayedProgress = resumed.events.filter((e) => isRecord(e.message?.['params']) && e.message['params']['progressToken'] === 'resume-me');
        assert.deepEqual(replayedProgress.map(progressOf), [2, 3, 4], 'the progress after the cut, in order, and nothing before it');
        for (const e of [...replayedProgress, answer]) assert.ok(e.id !== undefined && UUID.test(e.id), `replayed event keeps its upstream id: ${e.lines.join('\\n')}`);
      } finally {
        resumed.close();
      }
    } finally {
      await mcpFetch(gw.url, null, { method: 'DELETE', headers: session });
    }
  });
});

function progressOf(e: StreamEvent): number | undefined {
  const params = e.message?.['params'];
  return isRecord(params) && typeof params['progress'] === 'number' ? params['progress'] : undefined;
}
