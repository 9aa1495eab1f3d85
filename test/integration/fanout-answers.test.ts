// What a multiplexed route (several targets) does with the answers its targets give to a request
// sent to every target: the merged answer must never carry a list item the rules deny, whatever
// shape a target's answer has.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { stringify } from 'yaml';
import type { CleanupHost } from '../helpers/files.js';
import { LAB_AUDIENCE, LAB_ISSUER, labKeys, startTestGateway, type LabKeys, type RuleSpec, type TestGateway } from '../helpers/gateway-harness.js';
import { openEventStream } from '../helpers/event-stream.js';
import { MCP_ACCEPT, initializeRequest, mcpFetch, rpc } from '../helpers/mcp-http.js';
import { startStatusUpstream } from '../helpers/raw-http.js';
import { sendEvents, sendJson, sseEvent, startStub } from '../helpers/stub-upstream.js';

const cleanup: Array<() => Promise<void>> = [];
const suite: CleanupHost = { after: (fn) => void cleanup.push(fn) };
after(async () => {
  for (const fn of cleanup.reverse()) await fn();
});

type Message = Record<string, unknown>;

/** A stateless MCP server: `answer` gives the message sent back to each request (JSON), or the
 * messages (one event each, an event stream). */
async function jsonUpstream(answer: (request: Message) => Message | readonly Message[]): Promise<string> {
  const stub = await startStub(suite, (req, res) => {
    if (req.method !== 'POST') {
      res.writeHead(405, { allow: 'POST' }).end();
      return;
    }
    if (req.message === undefined || req.id === undefined) {
      res.writeHead(202).end();
      return;
    }
    const out = answer({ ...req.message });
    if (Array.isArray(out)) sendEvents(res, out);
    else sendJson(res, out);
  });
  return stub.url;
}

const tools = [{ name: 'echo', inputSchema: { type: 'object' } }, { name: 'secret_admin', inputSchema: { type: 'object' } }];

function initialized(request: Message): Message | null {
  if (request['method'] !== 'initialize') return null;
  return { jsonrpc: '2.0', id: request['id'], result: { protocolVersion: '2025-06-18', capabilities: { tools: {} }, serverInfo: { name: 'x', version: '0' } } };
}

function multiplexYaml(targets: ReadonlyArray<{ readonly name: string; readonly url: string }>, rules: readonly RuleSpec[]): string {
  return stringify({
    binds: [
      {
        port: 0,
        listeners: [
          {
            routes: [
              {
                policies: {
                  jwtAuth: { mode: 'strict', issuer: LAB_ISSUER, audiences: [LAB_AUDIENCE], jwks: { file: './jwks-keyset' } },
                  mcpAuthorization: { rules },
                },
                backends: [{ mcp: { targets: targets.map((t) => ({ name: t.name, mcp: { host: t.url } })) } }],
              },
            ],
          },
        ],
      },
    ],
  });
}

let keys: LabKeys;
let gw: TestGateway;

before(async () => {
  keys = await labKeys(suite);
  const plain = await jsonUpstream((r) => initialized(r) ?? { jsonrpc: '2.0', id: r['id'], result: { tools } });
  // Answers tools/list with an error that also holds a result with a full tools list.
  const both = await jsonUpstream(
    (r) => initialized(r) ?? { jsonrpc: '2.0', id: r['id'], error: { code: -32000, message: 'busy' }, result: { tools } },
  );
  gw = await startTestGateway(suite, {
    cwd: keys.dir,
    configText: multiplexYaml([{ name: 'a', url: plain }, { name: 'b', url: both }], [{ deny: 'mcp.tool.name == "secret_admin"' }]),
  });
});

test('a target error that also carries a result: the result is not relayed unfiltered', async () => {
  const init = await mcpFetch(gw.url, initializeRequest(), { token: keys.jsmith });
  assert.equal(init.status, 200);
  // Stateless targets: no session to name.
  assert.equal(init.headers.get('mcp-session-id'), null);
  const list = await mcpFetch(gw.url, rpc(2, 'tools/list'), { token: keys.jsmith });
  assert.equal(list.status, 200);
  assert.doesNotMatch(list.text, /secret_admin/, `a denied tool reached the client: ${list.text}`);
  const [message] = list.messages;
  assert.ok(message !== undefined);
  assert.deepEqual(message['error'], { code: -32000, message: 'busy' });
});

/** A stateful MCP server whose GET stream sends `serverRequest` (if any) and stays open; the
 * JSON-RPC responses POSTed to it are kept in `responses`. */
async function sessionUpstream(serverRequest: Message | null): Promise<{ readonly url: string; readonly responses: Message[]; readonly deleted: Promise<string> }> {
  const responses: Message[] = [];
  let onDelete: (session: string) => void = () => {};
  const deleted = new Promise<string>((resolve) => {
    onDelete = resolve;
  });
  const { url } = await startStub(suite, (req, res) => {
    if (req.method === 'DELETE') {
      onDelete(String(req.headers['mcp-session-id']));
      res.writeHead(200).end();
      return;
    }
    if (req.method === 'GET') {
      if (serverRequest === null) {
        res.writeHead(405, { allow: 'POST' }).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(sseEvent(serverRequest));
      return;
    }
    const message = req.message;
    if (message === undefined) throw new Error('not a message');
    if (!('method' in message)) responses.push({ ...message });
    const answer = initialized({ ...message });
    if (answer === null) {
      res.writeHead(202).end();
      return;
    }
    sendJson(res, answer, { 'mcp-session-id': 'upstream-session' });
  });
  return { url, responses, deleted };
}

/** Two session targets behind one route, `a` sending `first` on its GET stream: a session
 * initialized through the gateway, and the merged GET stream open on it. */
async function mergedStream(first: Message) {
  const a = await sessionUpstream(first);
  const b = await sessionUpstream(null);
  const routed = await startTestGateway(suite, {
    cwd: keys.dir,
    configText: multiplexYaml([{ name: 'a', url: a.url }, { name: 'b', url: b.url }], []),
  });
  const init = await mcpFetch(routed.url, initializeRequest(), { token: keys.jsmith });
  const sessionId = init.headers.get('mcp-session-id');
  assert.ok(sessionId !== null);
  const stream = await openEventStream(routed.url, {
    headers: { accept: 'text/event-stream', authorization: `Bearer ${keys.jsmith}`, 'mcp-session-id': sessionId },
  });
  return { a, b, url: routed.url, sessionId, stream };
}

test("the client's answer to one target's request goes to that target only, under the id it sent", async () => {
  const elicit = { jsonrpc: '2.0', id: 0, method: 'elicitation/create', params: { message: 'password for a?', requestedSchema: { type: 'object', properties: {} } } };
  const { a, b, url, sessionId, stream } = await mergedStream(elicit);
  try {
    const request = await stream.until((e) => e.message?.['method'] === 'elicitation/create');
    const id = request.message?.['id'];
    assert.ok(typeof id === 'string' || typeof id === 'number');
    const answer = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: MCP_ACCEPT, connection: 'close', authorization: `Bearer ${keys.jsmith}`, 'mcp-session-id': sessionId },
      body: JSON.stringify({ jsonrpc: '2.0', id, result: { action: 'accept', content: { password: 'for a only' } } }),
    });
    await answer.text();
    assert.equal(answer.status, 202);
    assert.deepEqual(b.responses, [], 'target b received the answer to a request of target a');
    assert.deepEqual(a.responses.map((r) => r['id']), [0]);
  } finally {
    stream.close();
  }
});

test('a resource notice on the merged stream names the resource as the client knows it, <target>+<uri>', async () => {
  const updated = { jsonrpc: '2.0', method: 'notifications/resources/updated', params: { uri: 'file:///notes.txt' } };
  const { stream } = await mergedStream(updated);
  try {
    const notice = await stream.until((e) => e.message?.['method'] === 'notifications/resources/updated');
    assert.deepEqual(notice.message?.['params'], { uri: 'a+file:///notes.txt' });
  } finally {
    stream.close();
  }
});

test("a resource notice on a routed call's event stream is renamed too", async () => {
  const notice = { jsonrpc: '2.0', method: 'notifications/resources/updated', params: { uri: 'file:///notes.txt' } };
  const url = await jsonUpstream((r) => initialized(r) ?? [notice, { jsonrpc: '2.0', id: r['id'], result: { content: [{ type: 'text', text: 'ok' }] } }]);
  const plain = await jsonUpstream((r) => initialized(r) ?? { jsonrpc: '2.0', id: r['id'], result: {} });
  const routed = await startTestGateway(suite, { cwd: keys.dir, configText: multiplexYaml([{ name: 'a', url }, { name: 'b', url: plain }], []) });
  const call = await mcpFetch(routed.url, rpc(5, 'tools/call', { name: 'a_echo', arguments: {} }), { token: keys.jsmith });
  assert.equal(call.status, 200, call.text);
  const renamed = call.messages.find((msg) => msg['method'] === 'notifications/resources/updated');
  assert.deepEqual(renamed?.['params'], { uri: 'a+file:///notes.txt' });
  assert.ok(call.messages.some((msg) => msg['id'] === 5));
});

/** An upstream that answers initialize with HTTP 500, or (`rpcError`) with a JSON-RPC error. */
function refusingUpstream(rpcError: boolean): Promise<string> {
  if (!rpcError) return startStatusUpstream(suite, 500);
  return jsonUpstream((r) => ({ jsonrpc: '2.0', id: r['id'], error: { code: -32603, message: 'cannot start' } }));
}


for (const rpcError of [false, true]) {
  test(`an initialize that fails on one target (${rpcError ? 'a JSON-RPC error' : 'HTTP 500'}) ends the session another target opened`, async () => {
    const a = await sessionUpstream(null);
    const routed = await startTestGateway(suite, {
      cwd: keys.dir,
      configText: multiplexYaml([{ name: 'a', url: a.url }, { name: 'b', url: await refusingUpstream(rpcError) }], []),
    });
    const init = await mcpFetch(routed.url, initializeRequest(), { token: keys.jsmith });
    assert.equal(init.status, rpcError ? 200 : 502);
    assert.equal(init.headers.get('mcp-session-id'), null, 'a failed initialize named a session');
    if (rpcError) assert.deepEqual(init.messages[0]?.['error'], { code: -32603, message: 'cannot start' });
    assert.equal(await a.deleted, 'upstream-session');
  });
}

test('a target whose initialize answer breaks off after its headers: the session those headers named is ended too', async () => {
  let onDelete: (session: string) => void = () => {};
  const deleted = new Promise<string>((resolve) => {
    onDelete = resolve;
  });
  const a = await startStub(suite, (req, res) => {
    if (req.method === 'DELETE') {
      onDelete(String(req.headers['mcp-session-id']));
      res.writeHead(200).end();
      return;
    }
    // Headers naming a session, half an event, then the connection drops.
    res.writeHead(200, { 'content-type': 'text/event-stream', 'mcp-session-id': 'a-session' });
    res.write('data: {"jsonrpc":"2.0",', () => res.socket?.destroy());
  });
  const b = await sessionUpstream(null);
  const routed = await startTestGateway(suite, {
    cwd: keys.dir,
    configText: multiplexYaml([{ name: 'a', url: a.url }, { name: 'b', url: b.url }], []),
  });
  const init = await mcpFetch(routed.url, initializeRequest(), { token: keys.jsmith });
  assert.equal(init.status, 502);
  assert.equal(await deleted, 'a-session');
  assert.equal(await b.deleted, 'upstream-session');
});
