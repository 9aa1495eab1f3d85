// The opt-in fallback (PORTCULLIS_ALLOW_UWS_FALLBACK=1, when uWebSockets.js' native binary does
// not load) serves the lab's MCP authorization as the native front does. The package's own
// pure-JS fallback crashed the process on the first request (`req.forEach`: Not implemented);
// the gateway now runs node-front.ts instead. The native binary is kept from loading by the
// same preload as uws-native.test.ts, in a real CLI process.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { CleanupHost } from '../helpers/files.js';
import { repoRoot } from '../helpers/files.js';
import { gatewayYaml, labKeys, type LabKeys } from '../helpers/gateway-harness.js';
import { initializeRequest, mcpFetch, rpc } from '../helpers/mcp-http.js';
import { freePort } from '../helpers/ports.js';
import { rawExchange } from '../helpers/raw-http.js';
import { spawnAndWait, type SpawnedProcess } from '../helpers/process.js';
import { startStub } from '../helpers/stub-upstream.js';

const ROOT = repoRoot();
const PRELOAD = join(ROOT, 'test', 'fixtures', 'no-native-uws.cjs');
const BIN = join(ROOT, 'bin', 'portcullis.js');
const ECHO = join(ROOT, 'dist', 'examples', 'echo-server', 'server.js');
const OPS_OFF = { ADMIN_ADDR: '', STATS_ADDR: '', READINESS_ADDR: '' };

const cleanup: Array<() => Promise<void>> = [];
const suite: CleanupHost = { after: (fn) => void cleanup.push(fn) };
after(async () => {
  for (const fn of cleanup.reverse()) await fn();
});

let keys: LabKeys;
let gw: SpawnedProcess;
let url: string;
let openPort: number;

async function fallbackGateway(configText: string): Promise<SpawnedProcess> {
  const p = await spawnAndWait(process.execPath, ['--require', PRELOAD, BIN, '-c', configText], {
    cwd: keys.dir,
    env: { ...OPS_OFF, PORTCULLIS_ALLOW_UWS_FALLBACK: '1' },
    readyLine: /started bind/,
  });
  suite.after(async () => {
    // A graceful drain ends with exit code 0: nothing crashed meanwhile.
    assert.deepEqual(await p.stop('SIGTERM'), { code: 0, signal: null }, p.output());
  });
  return p;
}

before(async () => {
  keys = await labKeys(suite);
  const echoPort = await freePort();
  const echo = await spawnAndWait(process.execPath, [ECHO, '--port', String(echoPort)], { readyLine: /listening on/ });
  suite.after(async () => void (await echo.stop('SIGTERM')));
  const port = await freePort();
  url = `http://127.0.0.1:${port}/mcp`;
  gw = await fallbackGateway(
    gatewayYaml({ upstreamUrl: `http://127.0.0.1:${echoPort}/mcp`, port, rules: ['mcp.tool.name == "echo" && "admin" in jwt.roles'] }),
  );
  assert.match(gw.output(), /slow pure-JS fallback/);
  // A second gateway on the echo server, without authentication, for raw requests.
  openPort = await freePort();
  await fallbackGateway(gatewayYaml({ upstreamUrl: `http://127.0.0.1:${echoPort}/mcp`, port: openPort, mode: null }));
});

test('on the fallback: no token is a 401 with its challenge, logged with the client address', async () => {
  const from = gw.lines().length;
  const r = await mcpFetch(url, rpc(1, 'tools/list'));
  assert.equal(r.status, 401);
  assert.equal(r.text, 'authentication failure: no bearer token found');
  assert.match(r.headers.get('www-authenticate') ?? '', /^Bearer/);
  const line = await gw.waitFor(/http\.status=401/, { fromLine: from });
  assert.match(line, /src\.addr=127\.0\.0\.1 /);
});

test('on the fallback: the lab rule filters the list and refuses the call, per token', async () => {
  for (const [token, tools, called] of [
    [keys.admin, ['echo'], true],
    [keys.jsmith, [], false],
  ] as const) {
    const init = await mcpFetch(url, initializeRequest(), { token });
    assert.equal(init.status, 200, init.text);
    const sessionId = init.headers.get('mcp-session-id');
    const opts = sessionId === null ? { token } : { token, sessionId };
    const list = await mcpFetch(url, rpc(2, 'tools/list'), opts);
    const result = list.messages[0]?.['result'];
    assert.ok(typeof result === 'object' && result !== null && 'tools' in result && Array.isArray(result.tools), list.text);
    assert.deepEqual(result.tools.map((t: { name?: unknown }) => t.name), tools);
    const call = await mcpFetch(url, rpc(3, 'tools/call', { name: 'echo', arguments: { message: 'hi' } }), opts);
    if (called) assert.deepEqual(call.messages[0]?.['result'], { content: [{ type: 'text', text: 'Echo: hi' }] });
    else assert.deepEqual(call.messages[0]?.['error'], { code: -32602, message: 'Unknown tool: echo', data: { code: 'GW_UNKNOWN_TARGET' } });
  }
});

for (const filtered of [false, true]) {
  test(`on the fallback, header values outside ASCII reach the client as the bytes the upstream sent (${filtered ? 'an answer rewritten by the filter' : 'an answer relayed as it came'})`, async () => {
    const obs = Buffer.from([0x6f, 0x6b, 0x20, 0xe9, 0xff]); // not UTF-8
    const utf8 = Buffer.from('café – 東京', 'utf8');
    // node:http writes header strings as latin1: these go out as exactly these bytes.
    const upstream = await startStub(suite, (_req, res) => {
      res.writeHead(200, ['content-type', 'application/json', 'x-obs', obs.toString('latin1'), 'x-utf8', utf8.toString('latin1')]);
      res.end(JSON.stringify({ jsonrpc: '2.0', id: 1, result: { tools: [{ name: 'echo', inputSchema: { type: 'object' } }, { name: 'hidden', inputSchema: { type: 'object' } }] } }));
    });
    const port = await freePort();
    const rules = filtered ? { rules: ['mcp.tool.name == "echo"'] } : {};
    await fallbackGateway(gatewayYaml({ upstreamUrl: upstream.url, port, mode: null, ...rules }));
    const raw = await new Promise<{ headers: string[]; body: string }>((resolve, reject) => {
      const req = request(`http://127.0.0.1:${port}/mcp`, { method: 'POST', agent: false, headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ headers: res.rawHeaders, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(JSON.stringify(rpc(1, 'tools/list')));
    });
    const value = (name: string): Buffer | undefined => {
      const i = raw.headers.findIndex((v, j) => j % 2 === 0 && v.toLowerCase() === name);
      return i < 0 ? undefined : Buffer.from(raw.headers[i + 1] ?? '', 'latin1');
    };
    assert.deepEqual(value('x-obs'), obs);
    assert.deepEqual(value('x-utf8'), utf8);
    assert.equal(raw.body.includes('hidden'), !filtered, raw.body);
  });
}

/** Answered by the (stateful) echo server without a session. */
const init = (id: number): string => JSON.stringify(initializeRequest(id));
const post = (target: string, body: string, extra = ''): string =>
  `POST ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\n${extra}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;

test('on the fallback, a request pipelined behind Connection: close: the first is answered, then the connection closes', async () => {
  const reply = await rawExchange(`http://127.0.0.1:${openPort}/mcp`, post('/mcp', init(6), 'Connection: close\r\n') + post('/mcp', init(7)));
  assert.match(reply, /^HTTP\/1\.1 200 /);
  assert.match(reply, /"id":6/);
  assert.doesNotMatch(reply, /"id":7|400 Bad Request/);
});

test('on the fallback, an absolute-form request target reaches the route', async () => {
  const reply = await rawExchange(`http://127.0.0.1:${openPort}/mcp`, post(`http://127.0.0.1:${openPort}/mcp`, init(8), 'Connection: close\r\n'));
  assert.match(reply, /^HTTP\/1\.1 200 /);
  assert.match(reply, /"id":8/);
});
