// Control characters a client or an upstream writes (NUL, CR, LF, ESC, BEL, DEL, NEL, U+2028)
// reach the log escaped: in a JSON-RPC method, a tool name, a header (Host, Origin in an error),
// a token's `sub`, a stdio server's stderr. Each log line stays one line of the expected shape,
// in the text format and in the JSON format, and an escaped value reads back as sent.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { stringify } from 'yaml';
import { LAB_AUDIENCE, LAB_ISSUER, labKeys, startTestGateway, type TestGateway } from '../helpers/gateway-harness.js';
import { inSeconds } from '../helpers/keys.js';
import { initializeRequest, mcpFetch } from '../helpers/mcp-http.js';
import { rawExchange } from '../helpers/raw-http.js';
import { startRecordingUpstream } from '../helpers/recording-upstream.js';

/** What no log line may hold raw: C0 controls but TAB (the text format's separator), DEL, C1, U+2028/9. */
const raw = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029]/;
const textLine = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z\t(info|warn|error)\t[\w:]+(\t| |$)/;

/** A forged access line, as a client would try to slip one in. */
const forged = '2025-01-01T00:00:00.000000Z\tinfo\trequest gateway=forged http.status=200';
const method = 'tools/list\u0000\u001b[2J\u0007\u007f';
const tool = `echo\u0085\u2028\r\n${forged}`;
const sub = 'alice\u001b]0;pwned\u0007\u0000';

function stdioServer(): string {
  // stderr: a line holding CR (a terminal rewrites it), ESC and NUL; then a minimal MCP server.
  return `process.stderr.write('note\\r${forged.replace(/\t/g, '\\t')} \\u001b[31mred\\u0000\\n');
require('node:readline').createInterface({ input: process.stdin }).on('line', (l) => {
  const m = JSON.parse(l);
  if (m.id !== undefined) process.stdout.write(JSON.stringify({ jsonrpc: '2.0', id: m.id, result: { protocolVersion: '2025-06-18', capabilities: {}, serverInfo: { name: 's', version: '1' } } }) + '\\n');
});`;
}

function checkLines(gw: TestGateway, format: 'text' | 'json'): void {
  for (const line of gw.log.lines) {
    assert.ok(!raw.test(line), `a raw control character in: ${JSON.stringify(line)}`);
    if (format === 'json') {
      const parsed: unknown = JSON.parse(line);
      assert.ok(typeof parsed === 'object' && parsed !== null, line);
    } else {
      assert.match(line, textLine);
      assert.ok((line.match(/\t/g) ?? []).length <= 3, `a raw TAB in a field: ${JSON.stringify(line)}`);
    }
  }
}

/** The value of `key` in an access line: parsed from JSON, or read back from the text field. */
function fieldOf(line: string, format: 'text' | 'json', key: string): unknown {
  if (format === 'json') return (JSON.parse(line) as Record<string, unknown>)[key];
  const at = line.indexOf(` ${key}=`);
  assert.ok(at >= 0, `${key} in ${line}`);
  const rest = line.slice(at + key.length + 2);
  if (!rest.startsWith('"')) return rest.split(' ')[0];
  const end = /^"(?:[^"\\]|\\.)*"/.exec(rest);
  assert.ok(end !== null, line);
  return JSON.parse(end[0]);
}

for (const format of ['text', 'json'] as const) {
  test(`control characters from clients and upstreams are escaped in the ${format} log`, async (t) => {
    const keys = await labKeys(t);
    const up = await startRecordingUpstream();
    t.after(() => up.close());
    const configText = stringify({
      binds: [{
        port: 0,
        listeners: [{
          routes: [
            {
              name: 'authed',
              matches: [{ path: { pathPrefix: '/authed' } }],
              policies: { jwtAuth: { mode: 'strict', issuer: LAB_ISSUER, audiences: [LAB_AUDIENCE], jwks: { file: './jwks-keyset' } } },
              backends: [{ mcp: { targets: [{ name: 'mcp', mcp: { host: up.url } }] } }],
            },
            {
              name: 'stdio',
              matches: [{ path: { pathPrefix: '/stdio' } }],
              backends: [{ mcp: { targets: [{ name: 's', stdio: { cmd: process.execPath, args: ['-e', stdioServer()] } }] } }],
            },
            { name: 'open', backends: [{ mcp: { targets: [{ name: 'mcp', mcp: { host: up.url } }] } }] },
          ],
        }],
      }],
    });
    const gw = await startTestGateway(t, { cwd: keys.dir, logFormat: format, configText });
    const access = (from: number): Promise<string> => gw.log.waitFor(format === 'json' ? /"scope":"request"/ : /\trequest /, { fromLine: from });
    const base = `http://127.0.0.1:${gw.gateway.port}`;

    // A JSON-RPC method and a tool name: the body's JSON escapes carry any character.
    let from = gw.log.lines.length;
    assert.equal((await mcpFetch(gw.url, { jsonrpc: '2.0', id: 1, method })).status, 200);
    assert.equal(fieldOf(await access(from), format, 'mcp.method'), method);
    from = gw.log.lines.length;
    assert.equal((await mcpFetch(gw.url, { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: tool } })).status, 200);
    assert.equal(fieldOf(await access(from), format, 'mcp.resource.name'), tool);

    // A verified token's subject.
    const token = await keys.issuer.sign({ iss: LAB_ISSUER, aud: LAB_AUDIENCE, sub, iat: inSeconds(0), exp: inSeconds(600) });
    from = gw.log.lines.length;
    assert.equal((await mcpFetch(`${base}/authed`, initializeRequest(), { token })).status, 200);
    assert.equal(fieldOf(await access(from), format, 'jwt.sub'), sub);

    // Headers, on a raw socket: NEL and CSI (C1 controls) as UTF-8. Fronts read header bytes as
    // UTF-8 or as latin1; either way the value holds U+0085 and U+009B.
    const c1 = (value: unknown): boolean => typeof value === 'string' && value.includes('\u0085') && value.includes('\u009b');
    const body = JSON.stringify(initializeRequest());
    const post = (headers: string): Buffer => Buffer.from(
      `POST /mcp HTTP/1.1\r\n${headers}Connection: close\r\nContent-Type: application/json\r\n` +
        `Accept: application/json, text/event-stream\r\nContent-Length: ${body.length}\r\n\r\n${body}`, 'latin1');
    from = gw.log.lines.length;
    assert.match(await rawExchange(gw.url, post('Host: h\xc2\x85st\xc2\x9b2J\r\n')), /^HTTP\/1\.1 200 /);
    const host = fieldOf(await access(from), format, 'http.host');
    assert.ok(c1(host), JSON.stringify(host));
    from = gw.log.lines.length;
    assert.match(await rawExchange(gw.url, post('Host: 127.0.0.1\r\nOrigin: http://e\xc2\x85vil\xc2\x9b2J.example\r\n')), /^HTTP\/1\.1 403 /);
    const error = fieldOf(await access(from), format, 'error');
    assert.ok(c1(error) && String(error).startsWith('origin not allowed: http://e'), JSON.stringify(error));

    // A stdio server's stderr line.
    assert.equal((await mcpFetch(`${base}/stdio`, initializeRequest())).status, 200);
    const stderrLine = await gw.log.waitFor(/note/);
    const message = format === 'json' ? (JSON.parse(stderrLine) as Record<string, unknown>)['message'] : stderrLine.split('\t').slice(3).join('\t');
    const expected = format === 'json' ? `note\r${forged} \u001b[31mred\u0000` : `note\\r${forged.replace(/\t/g, '\\t')} \\u001b[31mred\\u0000`;
    assert.ok(typeof message === 'string' && message.endsWith(`: ${expected}`), JSON.stringify(message)); // after the command's name

    checkLines(gw, format);
    const accessLines = gw.log.lines.filter((l) => (format === 'json' ? l.includes('"scope":"request"') : l.includes('\trequest ')));
    assert.equal(accessLines.length, 6, 'one access line a request, none forged');
    assert.ok(!gw.log.lines.some((l) => l.startsWith('2025-01-01T')), 'no forged line');
  });
}
