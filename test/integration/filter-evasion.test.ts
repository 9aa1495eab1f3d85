// A list answer must be filtered however the upstream spells it: member names written with
// JSON escapes (`"r\u0065sult"`, `"t\u006fols"`), on a POST's SSE answer, a JSON answer, and a
// GET stream (a resumed answer). A client's parser reads them as `result.tools`; so must the gateway.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { gatewayYaml, labKeys, startTestGateway } from '../helpers/gateway-harness.js';
import { mcpFetch, rpc } from '../helpers/mcp-http.js';
import { startStub, type StubUpstream } from '../helpers/stub-upstream.js';

const escapedList = (id: number | null): string =>
  `{"jsonrpc":"2.0","id":${id === null ? 7 : id},"r\\u0065sult":{"t\\u006fols":[{"name":"echo","inputSchema":{"type":"object"}},{"n\\u0061me":"get-env","inputSchema":{"type":"object"}}]}}`;

function startEvasiveUpstream(): Promise<StubUpstream> {
  return startStub(null, (req, res) => {
    if (req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      if (req.headers['x-answer'] === 'mixed-endings') {
        // LF then CRLF ends the first event for a client; a list follows in an event of its own.
        const list = '{"jsonrpc":"2.0","id":8,"result":{"tools":[{"name":"echo"},{"name":"get-env"}]}}';
        res.end(`data: {"jsonrpc":"2.0","method":"notifications/message","params":{}}\n\r\ndata: ${list}\r\n\ndata: ${list}\r\r`);
        return;
      }
      res.end(`id: 1\ndata: ${escapedList(null)}\n\n`);
      return;
    }
    const msg = JSON.parse(req.body) as { id: number };
    const plainList = `{"jsonrpc":"2.0","id":${msg.id},"result":{"tools":[{"name":"echo","inputSchema":{"type":"object"}},{"name":"get-env","inputSchema":{"type":"object"}}]}}`;
    const answer = req.headers['x-answer'];
    if (answer === 'gzip' || answer === 'identity-then-gzip') {
      // Compressed though the gateway asked for identity; the second spelling splits the
      // codings over two fields, which a client applies in order (RFC 9110 §8.4).
      const codings = answer === 'gzip' ? ['gzip'] : ['identity', 'gzip'];
      res.writeHead(200, ['content-type', 'application/json', ...codings.flatMap((c) => ['content-encoding', c])]);
      res.end(gzipSync(plainList));
    } else if (answer === 'json-and-sse-type' || answer === 'json-then-sse-type') {
      // An SSE-framed list under a type a client may read as an event stream (the MCP SDK looks
      // for text/event-stream anywhere in the field) or as JSON.
      const types = answer === 'json-and-sse-type' ? ['application/json, text/event-stream'] : ['application/json', 'text/event-stream'];
      res.writeHead(200, types.flatMap((t) => ['content-type', t]));
      res.end(`data: ${plainList}\n\n`);
    } else if (answer === 'text-plain') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end(plainList);
    } else if (answer === 'no-type') {
      res.writeHead(200).end(plainList); // node sets no content-type of its own
    } else if (answer === 'batch') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(`[${plainList}]`);
    } else if (answer === 'other-kind') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(`{"jsonrpc":"2.0","id":${msg.id},"result":{"tools":[],"prompts":[{"name":"secret-prompt"}]}}`);
    } else if (answer === 'list-sse') {
      res.writeHead(200, { 'content-type': 'text/event-stream' }).end(`data: ${plainList}\n\n`);
    } else if (answer === 'list-json') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(plainList);
    } else if (answer === 'json') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(escapedList(msg.id));
    } else if (req.headers['x-answer'] === 'unterminated') {
      // The last event lacks its blank line; a lenient client parser still dispatches it.
      res.writeHead(200, { 'content-type': 'text/event-stream' }).end(`data: ${escapedList(msg.id)}`);
    } else if (req.headers['x-answer'] === 'unterminated-late') {
      // Same, ending well after the gateway has started streaming the answer.
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(': first\n\n');
      setTimeout(() => res.end(`data: ${escapedList(msg.id)}\n`), 50);
    } else {
      res.writeHead(200, { 'content-type': 'text/event-stream' }).end(`data: ${escapedList(msg.id)}\n\n`);
    }
  });
}

function toolNames(text: string): string[] {
  const data = text.includes('data:') ? text.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trim()).join('') : text;
  const v = JSON.parse(data) as { result?: { tools?: Array<{ name: string }> } };
  return (v.result?.tools ?? []).map((t) => t.name);
}

test('escaped member names and unterminated events do not get a list past the filter (SSE, JSON, GET)', async (t) => {
  const keys = await labKeys(t);
  const up = await startEvasiveUpstream();
  t.after(() => up.close());
  const gw = await startTestGateway(t, { cwd: keys.dir, configText: gatewayYaml({ upstreamUrl: up.url, rules: [{ deny: 'mcp.tool.name == "get-env"' }] }) });
  const sse = await mcpFetch(gw.url, rpc(3, 'tools/list'), { token: keys.admin });
  assert.equal(sse.status, 200);
  assert.deepEqual(toolNames(sse.text), ['echo']);
  const json = await mcpFetch(gw.url, rpc(4, 'tools/list'), { token: keys.admin, headers: { 'x-answer': 'json' } });
  assert.deepEqual(toolNames(json.text), ['echo']);
  for (const answer of ['unterminated', 'unterminated-late']) {
    const cut = await mcpFetch(gw.url, rpc(5, 'tools/list'), { token: keys.admin, headers: { 'x-answer': answer } });
    assert.equal(cut.status, 200, answer);
    assert.ok(!cut.text.includes('get-env'), `${answer}: ${cut.text}`);
    assert.deepEqual(toolNames(cut.text), ['echo'], answer);
  }
  const resumed = await mcpFetch(gw.url, null, { token: keys.admin, method: 'GET', headers: { accept: 'text/event-stream', 'last-event-id': '0' } });
  assert.equal(resumed.status, 200);
  assert.ok(!resumed.text.includes('get-env'), resumed.text);
  assert.deepEqual(toolNames(resumed.text), ['echo']);
});

test('a list reaches the client judged whatever answer carries it: any content type, a batch, another request, another kind', async (t) => {
  const keys = await labKeys(t);
  const up = await startEvasiveUpstream();
  t.after(() => up.close());
  const gw = await startTestGateway(t, { cwd: keys.dir, configText: gatewayYaml({ upstreamUrl: up.url, rules: [{ deny: 'mcp.tool.name == "get-env"' }] }) });
  // a list under a type the client may still read as JSON
  for (const answer of ['text-plain', 'no-type']) {
    const reply = await mcpFetch(gw.url, rpc(11, 'tools/list'), { token: keys.admin, headers: { 'x-answer': answer } });
    assert.equal(reply.status, 200, answer);
    assert.ok(!reply.text.includes('get-env'), `${answer}: ${reply.text}`);
    assert.deepEqual(toolNames(reply.text), ['echo'], answer);
  }
  // the answer to another request (an upstream that routes answers by a reused id)
  for (const answer of ['list-json', 'list-sse']) {
    const reply = await mcpFetch(gw.url, rpc(12, 'tools/call', { name: 'echo', arguments: {} }), { token: keys.admin, headers: { 'x-answer': answer } });
    assert.equal(reply.status, 200, answer);
    assert.ok(!reply.text.includes('get-env'), `${answer}: ${reply.text}`);
    assert.deepEqual(toolNames(reply.text), ['echo'], answer);
  }
  // a batch, and a list of another kind beside the one asked for: refused, not passed on
  for (const [method, answer] of [['tools/list', 'batch'], ['tools/call', 'batch'], ['tools/list', 'other-kind']] as const) {
    const reply = await mcpFetch(gw.url, rpc(13, method, method === 'tools/call' ? { name: 'echo', arguments: {} } : {}), { token: keys.admin, headers: { 'x-answer': answer } });
    assert.ok(!reply.text.includes('get-env') && !reply.text.includes('secret-prompt'), `${method} ${answer}: ${reply.text}`);
    assert.match(reply.text, /upstream answer could not be filtered/, `${method} ${answer}`);
  }
});

test('events ended by mixed line ends (LF CRLF, CRLF LF, CR CR) are split as a client splits them, and filtered', async (t) => {
  const keys = await labKeys(t);
  const up = await startEvasiveUpstream();
  t.after(() => up.close());
  const gw = await startTestGateway(t, { cwd: keys.dir, configText: gatewayYaml({ upstreamUrl: up.url, rules: [{ deny: 'mcp.tool.name == "get-env"' }] }) });
  const stream = await mcpFetch(gw.url, null, { token: keys.admin, method: 'GET', headers: { accept: 'text/event-stream', 'x-answer': 'mixed-endings' } });
  assert.equal(stream.status, 200);
  assert.ok(!stream.text.includes('get-env'), stream.text);
  assert.equal(stream.text.split('"name":"echo"').length - 1, 2, stream.text);
});

test('an answer too large to hold for filtering is refused with 502, and the gateway goes on', async (t) => {
  const keys = await labKeys(t);
  const big = `{"jsonrpc":"2.0","id":21,"result":{"content":[{"type":"text","text":"${'x'.repeat(65 * 1024 * 1024)}"}]}}`;
  const { url: upstreamUrl } = await startStub(t, (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(big));
  const gw = await startTestGateway(t, { cwd: keys.dir, configText: gatewayYaml({ upstreamUrl, rules: [{ deny: 'mcp.tool.name == "get-env"' }] }) });
  const reply = await mcpFetch(gw.url, rpc(21, 'tools/call', { name: 'echo', arguments: {} }), { token: keys.admin });
  assert.equal(reply.status, 502);
  assert.match(reply.text, /upstream answer too large to filter/);
  assert.match(await gw.log.waitFor(/http\.status=502/), /larger than 67108864 bytes/);
});

/** A POST through node:http, whose body comes back as sent (fetch would decode it itself). */
function rawPost(url: string, token: string, answer: string, body: string): Promise<{ status: number; encoding: string; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${token}`, 'x-answer': answer };
    const req = request(url, { method: 'POST', agent: false, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, encoding: res.headers['content-encoding'] ?? '', body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Each spelling of an answer, to a list request and to a call: refused with 502, the refusal
 * not encoded, and nothing the client reads names the hidden tool. */
async function expectRefused(url: string, token: string, answers: readonly string[], id: number): Promise<void> {
  for (const answer of answers) {
    for (const method of ['tools/list', 'tools/call']) {
      const reply = await rawPost(url, token, answer, JSON.stringify(rpc(id, method, method === 'tools/call' ? { name: 'echo', arguments: {} } : {})));
      assert.equal(reply.status, 502, `${answer} ${method}: ${reply.encoding}`);
      assert.equal(reply.encoding, '', `${answer} ${method}: the refusal is not encoded`);
      const text = reply.body.toString('utf8');
      assert.ok(!text.includes('get-env'), `${answer} ${method}: ${text}`);
    }
  }
}

test('a compressed answer that must be filtered is refused however its codings are split over Content-Encoding fields', async (t) => {
  const keys = await labKeys(t);
  const up = await startEvasiveUpstream();
  t.after(() => up.close());
  const gw = await startTestGateway(t, { cwd: keys.dir, configText: gatewayYaml({ upstreamUrl: up.url, rules: [{ deny: 'mcp.tool.name == "get-env"' }] }) });
  await expectRefused(gw.url, keys.admin, ['gzip', 'identity-then-gzip'], 31);
});

test('an answer that must be filtered under an ambiguous content type (JSON beside the event-stream type) is refused', async (t) => {
  const keys = await labKeys(t);
  const up = await startEvasiveUpstream();
  t.after(() => up.close());
  const gw = await startTestGateway(t, { cwd: keys.dir, configText: gatewayYaml({ upstreamUrl: up.url, rules: [{ deny: 'mcp.tool.name == "get-env"' }] }) });
  await expectRefused(gw.url, keys.admin, ['json-and-sse-type', 'json-then-sse-type'], 32);
  // the plain spelling of each is still filtered, not refused
  const sse = await mcpFetch(gw.url, rpc(33, 'tools/call', { name: 'echo', arguments: {} }), { token: keys.admin, headers: { 'x-answer': 'list-sse' } });
  assert.equal(sse.status, 200);
  assert.deepEqual(toolNames(sse.text), ['echo']);
});
