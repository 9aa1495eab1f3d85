// Header values outside ASCII pass through the gateway as the bytes that were sent: a value
// from the upstream reaches the client byte for byte (UTF-8 or not), and a client's UTF-8 value (one
// with characters above U+00FF too) reaches the upstream byte for byte. uWS reads and writes
// header strings as UTF-8 while undici reads and writes them as latin1, so each side must convert.
//
// The request values here keep their non-ASCII characters inside: uWS's parser trims a value's
// leading and trailing bytes below 33 compared as signed char, which drops non-ASCII bytes at
// either end before the gateway sees the value (`café` arrives as `caf`); nothing in JS can
// bring them back, so that case is left out.
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { request } from 'node:http';
import { test } from 'node:test';
import type { CleanupHost } from '../helpers/files.js';
import { gatewayYaml, labKeys, startTestGateway } from '../helpers/gateway-harness.js';
import { initializeRequest, MCP_ACCEPT } from '../helpers/mcp-http.js';
import { answerWithBytes, startRawUpstream } from '../helpers/raw-upstream.js';
import { initializeResult, resultFor, startStub } from '../helpers/stub-upstream.js';

/** node:http writes header strings as latin1 and hands them over decoded as latin1, so a value
 * is sent as, and read back from, the latin1 string of its bytes. */
const asLatin1 = (bytes: Buffer): string => bytes.toString('latin1');
const bytesOf = (latin1: string): Buffer => Buffer.from(latin1, 'latin1');

const utf8 = (s: string): Buffer => Buffer.from(s, 'utf8');

/** Every value of `name` in a rawHeaders list (name, value, …), as bytes. */
function rawValues(raw: readonly string[], name: string): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) if (raw[i]?.toLowerCase() === name) out.push(bytesOf(raw[i + 1] ?? ''));
  return out;
}

interface SeenRequest {
  readonly rawHeaders: readonly string[];
}

/** An upstream that records each request's raw headers and answers initialize with `x-label: label`. */
async function startUpstream(t: CleanupHost, label: Buffer): Promise<{ url: string; seen: SeenRequest[] }> {
  const seen: SeenRequest[] = [];
  const { url } = await startStub(t, (req, res) => {
    seen.push({ rawHeaders: req.rawHeaders });
    res.writeHead(200, ['content-type', 'application/json', 'x-label', asLatin1(label)]);
    res.end(Buffer.from(JSON.stringify(resultFor(req, initializeResult('bytes', {}))), 'utf8'));
  });
  return { url, seen };
}

interface RawReply {
  readonly status: number;
  readonly rawHeaders: readonly string[];
  readonly body: string;
}

/** A POST whose header values are sent as the given bytes. */
function post(url: string, token: string, extra: ReadonlyArray<readonly [string, Buffer]>): Promise<RawReply> {
  const body = JSON.stringify(initializeRequest());
  const headers = [
    ['host', new URL(url).host],
    ['accept', MCP_ACCEPT],
    ['content-type', 'application/json'],
    ['authorization', `Bearer ${token}`],
    ...extra.map(([k, v]) => [k, asLatin1(v)]),
    ['content-length', String(Buffer.byteLength(body))],
  ].flat();
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', agent: false, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, rawHeaders: res.rawHeaders, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(Buffer.from(body, 'utf8')); // a string body would take the head with it, written as UTF-8
  });
}

test('a UTF-8 response header value reaches the client byte for byte', async (t) => {
  const keys = await labKeys(t);
  const label = utf8('café – 東京 🚀');
  const up = await startUpstream(t, label);
  const gw = await startTestGateway(t, { cwd: keys.dir, configText: gatewayYaml({ upstreamUrl: up.url }) });
  const res = await post(gw.url, keys.admin, []);
  assert.equal(res.status, 200, res.body);
  assert.deepEqual(rawValues(res.rawHeaders, 'x-label'), [label]);
});

test('a UTF-8 request header value reaches the upstream byte for byte, characters above U+00FF included', async (t) => {
  const keys = await labKeys(t);
  const up = await startUpstream(t, utf8('ok'));
  const gw = await startTestGateway(t, { cwd: keys.dir, configText: gatewayYaml({ upstreamUrl: up.url }) });
  const cases: ReadonlyArray<readonly [string, Buffer]> = [
    ['latin1 range', utf8('un café noir')],
    ['above U+00FF', utf8('go 🚀 to 東京 now')],
    ['ascii', utf8('plain')],
  ];
  for (const [what, value] of cases) {
    const res = await post(gw.url, keys.admin, [['x-note', value]]);
    assert.equal(res.status, 200, `${what}: ${res.body}`);
    assert.deepEqual(rawValues(up.seen.at(-1)?.rawHeaders ?? [], 'x-note'), [value], what);
  }
  // repeated fields are joined, each copy's bytes kept
  const res = await post(gw.url, keys.admin, [['x-note', utf8('a é b')], ['x-note', utf8('c ☕ d')]]);
  assert.equal(res.status, 200, res.body);
  assert.deepEqual(rawValues(up.seen.at(-1)?.rawHeaders ?? [], 'x-note'), [utf8('a é b, c ☕ d')]);
});

test('a response header value that is not UTF-8 (obsolete obs-text) reaches the client byte for byte', async (t) => {
  const keys = await labKeys(t);
  const label = Buffer.from([0x6f, 0x6b, 0x20, 0xe9, 0x74, 0xe9, 0x20, 0xff]); // "ok été ÿ" in latin1: not UTF-8
  const up = await startUpstream(t, label);
  const gw = await startTestGateway(t, { cwd: keys.dir, configText: gatewayYaml({ upstreamUrl: up.url }) });
  const res = await post(gw.url, keys.admin, []);
  assert.equal(res.status, 200, res.body);
  assert.deepEqual(rawValues(res.rawHeaders, 'x-label'), [label]);
});

test('an upstream header value with CR, LF or NUL in it is refused, never written into the head the client gets', async (t) => {
  const keys = await labKeys(t);
  const up = await startRawUpstream(t);
  const gw = await startTestGateway(t, { cwd: keys.dir, configText: gatewayYaml({ upstreamUrl: up.url }) });
  const body = '{"jsonrpc":"2.0","id":1,"result":{}}';
  for (const value of ['ok\rinjected: cr', 'ok\ninjected: lf', 'ok\0injected: nul']) {
    up.script = answerWithBytes(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nx-label: ${value}\r\ncontent-length: ${body.length}\r\n\r\n${body}`);
    const res = await post(gw.url, keys.admin, []);
    assert.equal(res.status, 502, `${JSON.stringify(value)}: ${res.body}`);
    assert.deepEqual(rawValues(res.rawHeaders, 'injected'), [], JSON.stringify(value));
    assert.deepEqual(rawValues(res.rawHeaders, 'x-label'), [], JSON.stringify(value));
  }
});
